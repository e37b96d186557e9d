// cluster.js: a throwaway PostgreSQL cluster for tests (initdb as the postgres
// user when run as root, unix socket only, fsync off, port below 32768).
// As a command: `node cluster.js start DIR` prints "host port"; `stop DIR`.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const os = require('node:os');
const net = require('node:net');
const { execFileSync } = require('node:child_process');

function pgBin(name) {
  const base = '/usr/lib/postgresql';
  const versions = fs.existsSync(base)
    ? fs.readdirSync(base).filter((v) => fs.existsSync(path.join(base, v, 'bin', name)))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (versions.length) return path.join(base, versions[0], 'bin', name);
  return name; // on PATH
}

function asPostgres(cmd, args, opts = {}) {
  if (process.getuid && process.getuid() === 0) {
    return execFileSync('runuser', ['-u', 'postgres', '--', cmd, ...args], opts);
  }
  return execFileSync(cmd, args, opts);
}

// A port below 32768 that nobody listens on right now.
async function freePort() {
  for (let i = 0; i < 200; i++) {
    const port = 20000 + Math.floor(Math.random() * 12000);
    const ok = await new Promise((resolve) => {
      const s = net.createServer();
      s.once('error', () => resolve(false));
      s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
    });
    if (ok) return port;
  }
  throw new Error('no free port found below 32768');
}

function pgOptions(dir, port) {
  return `-c listen_addresses='' -c unix_socket_directories=${dir} -p ${port} ` +
    '-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300 ' +
    '-c shared_preload_libraries=pg_stat_statements';
}

async function start(dir) {
  dir = dir || fs.mkdtempSync(path.join(os.tmpdir(), 'pmtest-pg-'));
  fs.mkdirSync(dir, { recursive: true });
  if (process.getuid && process.getuid() === 0) execFileSync('chown', ['postgres', dir]);
  const data = path.join(dir, 'data');
  asPostgres(pgBin('initdb'), ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync',
    '-E', 'UTF8', '--locale=C'], { stdio: 'ignore' });
  let lastErr;
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    try {
      asPostgres(pgBin('pg_ctl'), ['-D', data, '-l', path.join(dir, 'log'), '-w', '-t', '30',
        '-o', pgOptions(dir, port),
        'start'], { stdio: 'ignore' });
      fs.writeFileSync(path.join(dir, 'port'), String(port));
      return { dir, host: dir, port };
    } catch (e) { lastErr = e; }
  }
  throw lastErr;
}

function stop(dir, mode = 'immediate') {
  try {
    asPostgres(pgBin('pg_ctl'), ['-D', path.join(dir, 'data'), '-m', mode, '-w', 'stop'],
      { stdio: 'ignore' });
  } catch (e) { /* already stopped */ }
}

// Start a stopped cluster again on the same port (database restart tests).
function restart(dir) {
  const port = fs.readFileSync(path.join(dir, 'port'), 'utf8').trim();
  asPostgres(pgBin('pg_ctl'), ['-D', path.join(dir, 'data'), '-l', path.join(dir, 'log'), '-w',
    '-t', '30', '-o', pgOptions(dir, port),
    'start'], { stdio: 'ignore' });
}

module.exports = { start, stop, restart, freePort, pgBin };

if (require.main === module) {
  const [cmd, dir] = process.argv.slice(2);
  if (cmd === 'start') {
    start(dir).then((c) => { process.stdout.write(`${c.host} ${c.port}\n`); })
      .catch((e) => { console.error(e.message); process.exit(1); });
  } else if (cmd === 'stop') {
    stop(dir, 'fast');
    fs.rmSync(dir, { recursive: true, force: true });
  } else {
    console.error('usage: cluster.js start|stop DIR');
    process.exit(2);
  }
}
