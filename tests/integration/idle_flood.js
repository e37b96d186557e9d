// idle_flood.js: a child process that opens many TCP connections to a port and
// never sends a byte on them. It runs apart from the test so its descriptors
// do not count against the test's own limit (it raises its soft limit through
// the shell, to a bounded value) and its sockets do not share the test's event
// loop with the requests being timed. Started with start(); stopped by its PID.
'use strict';
const { spawn } = require('node:child_process');

// The child: argv = port, count, comma-separated source addresses. Prints one
// JSON line when every connection is established or failed, then another on
// each "stats" line read from stdin; exits when stdin ends.
function child() {
  const net = require('node:net');
  const [port, count, sources] = [Number(process.argv[2]), Number(process.argv[3]),
    process.argv[4].split(',')];
  // established: the handshake completed (connected, or reset by the server,
  // which may happen before the connect is reported here); failed: anything
  // else (refused, timed out), by error code.
  const st = { established: 0, open: 0, reset: 0, failed: {} };
  let settled = 0;
  const socks = [];
  const settle = () => {
    if (++settled === count) process.stdout.write(JSON.stringify({ ready: true, ...st }) + '\n');
  };
  for (let i = 0; i < count; i++) {
    const s = net.connect({ port, host: '127.0.0.1', localAddress: sources[i % sources.length] });
    let up = false;
    let err = null;
    s.on('connect', () => { up = true; st.established++; st.open++; settle(); });
    s.on('error', (e) => { err = e.code || 'error'; });
    s.on('close', () => {
      if (up) st.open--;
      if (err === 'ECONNRESET' || (up && !err)) st.reset++;
      if (!up && err === 'ECONNRESET') st.established++;
      else if (!up) st.failed[err] = (st.failed[err] || 0) + 1;
      if (!up) settle();
    });
    socks.push(s);
  }
  process.stdin.setEncoding('utf8');
  process.stdin.on('data', () => process.stdout.write(JSON.stringify(st) + '\n'));
  process.stdin.on('end', () => { for (const s of socks) s.destroy(); process.exit(0); });
}

if (require.main === module) {
  child();
} else {
  // start({ port, count, sources }): resolves once every connection settled,
  // with { ready, established, open, reset, failed, stats(), stop() }.
  module.exports.start = ({ port, count, sources = ['127.0.0.1'] }) => new Promise((resolve, reject) => {
    const limit = count + 256;
    const proc = spawn('/bin/sh', ['-c', `[ "$(ulimit -n)" = unlimited ] || [ "$(ulimit -n)" -ge ${limit} ] || ulimit -n ${limit}; exec "$0" "$@"`,
      process.execPath, __filename, String(port), String(count), sources.join(',')],
    { stdio: ['pipe', 'pipe', 'inherit'] });
    let buf = '';
    const waiting = [];
    proc.stdout.setEncoding('utf8');
    proc.stdout.on('data', (d) => {
      buf += d;
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const msg = JSON.parse(buf.slice(0, nl));
        buf = buf.slice(nl + 1);
        if (msg.ready) {
          resolve({ ...msg,
            stats: () => new Promise((r) => { waiting.push(r); proc.stdin.write('stats\n'); }),
            stop: () => new Promise((r) => { proc.once('exit', r); proc.stdin.end(); }) });
        } else if (waiting.length) waiting.shift()(msg);
      }
    });
    proc.once('exit', (code) => reject(new Error(`idle flood exited with ${code}`)));
    process.on('exit', () => { try { proc.kill('SIGKILL'); } catch (e) { /* gone */ } });
  });
}
