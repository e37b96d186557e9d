// sync_helpers.js: what the agent sync tests stand on: simulated network
// printers (TCP listeners on 127.a.b.c found by the netscan source), agent
// keys from the admin CLI, the real printmaster-agent as a child process, and
// a small HTTP proxy between agent and server that can hold, refuse or alter
// requests. Everything started here is stopped by its own PID or handle.
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const net = require('node:net');
const path = require('node:path');
const http = require('node:http');
const { spawn, execFileSync } = require('node:child_process');
const h = require('../lib/harness');

const kids = [];
const dirs = [];
process.on('exit', () => {
  for (const k of kids) { try { k.kill('SIGKILL'); } catch (e) { /* gone */ } }
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

// A /29 of our own on loopback, so parallel test files never see each other.
function subnet() {
  const a = 1 + Math.floor(Math.random() * 250);
  const b = Math.floor(Math.random() * 32) * 8;
  return { base: `127.${a}.${b}`, cidr: `127.${a}.${b}.0/29` };
}

// A "printer": a listener on host:port that accepts and closes.
async function printer(host, port) {
  const conns = new Set();
  const received = [];
  const srv = net.createServer((c) => {
    conns.add(c);
    c.on('data', (d) => received.push(d));
    c.on('close', () => conns.delete(c));
    c.on('error', () => {});
  });
  await new Promise((resolve, reject) => {
    srv.once('error', reject);
    srv.listen(port, host, resolve);
  });
  return {
    host, port, received,
    async close() {
      for (const c of conns) c.destroy();
      await new Promise((r) => srv.close(r));
    },
  };
}

function agentKey(db, branchId, name) {
  return execFileSync(path.join(h.BIN, 'printmaster-server'),
    ['admin', 'agent', 'create', '--branch', branchId, name],
    { env: { ...process.env, DATABASE_URL: db.url }, encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

function agentEnv({ url, key, cidr, port, spool, extra = {} }) {
  return {
    ...process.env,
    PRINTMASTER_SERVER_URL: url,
    PRINTMASTER_AGENT_KEY: key,
    PRINTMASTER_SOURCES: 'netscan',
    PRINTMASTER_NETSCAN_CIDRS: cidr,
    PRINTMASTER_NETSCAN_PORTS: String(port),
    PRINTMASTER_NETSCAN_TIMEOUT_MS: '300',
    PRINTMASTER_SCAN_INTERVAL: '1',
    PRINTMASTER_LOST_AFTER_SCANS: '2',
    PRINTMASTER_RETRY_DELAY_MS: '100',
    PRINTMASTER_MAX_RETRY_DELAY_MS: '400',
    PRINTMASTER_HTTP_TIMEOUT_MS: '5000',
    PRINTMASTER_STATS_INTERVAL: '1',
    PRINTMASTER_SPOOL_DIR: spool,
    PRINTMASTER_LOG_LEVEL: 'debug',
    ...extra,
  };
}

// `printmaster-agent run` with its log in the spool's parent directory.
function startAgent(opts) {
  const logFile = path.join(path.dirname(opts.spool), `agent-${path.basename(opts.spool)}.log`);
  const out = fs.openSync(logFile, 'a');
  const proc = spawn(path.join(h.BIN, 'printmaster-agent'), ['run'],
    { env: agentEnv(opts), stdio: ['ignore', out, out] });
  fs.closeSync(out);
  kids.push(proc);
  let exited = null;
  proc.on('exit', (code, sig) => { exited = { code, sig }; });
  return {
    proc, logFile,
    log: () => fs.readFileSync(logFile, 'utf8'),
    exited: () => exited,
    async stop(sig = 'SIGTERM') {
      if (!exited) proc.kill(sig);
      await h.waitFor(() => exited, { timeout: 10000, what: 'agent exit' });
      return exited;
    },
  };
}

// One command of the agent (sync --once, status): { code, stdout, stderr }.
function runAgent(args, opts) {
  return new Promise((resolve) => {
    const proc = spawn(path.join(h.BIN, 'printmaster-agent'), args, { env: agentEnv(opts) });
    kids.push(proc);
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (d) => { stdout += d; });
    proc.stderr.on('data', (d) => { stderr += d; });
    proc.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

function tmpSpool() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pmtest-agent-'));
  dirs.push(dir);
  return path.join(dir, 'spool');
}

// A proxy in front of the server. `onBulk(req)` may return
// { hold: true } (never answer), { status, headers, body } (answer itself),
// or { mutate: fn(json) } (alter the body before forwarding); undefined
// forwards unchanged. Every bulk request is recorded in `bulk` (`forwarded`
// once it reached the server; `at` and `end`: when it came and when its
// answer was sent). `delayMs` holds each request that long before forwarding
// it. `postStatus`, when set, answers every POST
// with that status, as a gateway in front of the REST path would. Websocket
// upgrades (/ws) always pass through to the server.
async function startProxy(target) {
  const bulk = [];
  const held = [];
  const tunnels = new Set();
  const proxy = { bulk, onBulk: null, postStatus: null, delayMs: 0, url: null };
  const srv = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (d) => chunks.push(d));
    req.on('end', async () => {
      let body = Buffer.concat(chunks);
      const isBulk = req.url === '/api/v1/printing/printers/bulk';
      let action;
      let entry = null;
      if (isBulk) {
        entry = { at: Date.now(), idem: req.headers['idempotency-key'],
          auth: req.headers.authorization, body: JSON.parse(body.toString()) };
        bulk.push(entry);
        res.on('close', () => { entry.end = Date.now(); });
        action = proxy.onBulk ? proxy.onBulk(entry, bulk.length) : undefined;
      }
      if (req.method === 'POST' && proxy.postStatus) action = { status: proxy.postStatus };
      if (action && action.hold) { held.push(res); return; }
      if (action && action.status) {
        res.writeHead(action.status, { 'Content-Type': 'application/json', ...(action.headers || {}) });
        res.end(action.body || '{"error":{"code":"test","message":"from the proxy"}}');
        return;
      }
      if (proxy.delayMs) await new Promise((r) => setTimeout(r, proxy.delayMs));
      if (action && action.mutate) body = Buffer.from(JSON.stringify(action.mutate(JSON.parse(body.toString()))));
      try {
        const headers = { ...req.headers };
        delete headers['content-length'];
        delete headers.host;
        delete headers.connection;
        const r = await fetch(target + req.url, { method: req.method, headers,
          body: req.method === 'GET' ? undefined : body });
        const text = await r.text();
        const rh = { 'Content-Type': r.headers.get('content-type') || 'application/json' };
        if (r.headers.get('idempotent-replayed')) rh['Idempotent-Replayed'] = r.headers.get('idempotent-replayed');
        if (entry) {
          entry.forwarded = true;
          entry.status = r.status;
          entry.replayed = !!r.headers.get('idempotent-replayed');
        }
        res.writeHead(r.status, rh);
        res.end(text);
      } catch (e) {
        res.writeHead(502);
        res.end();
      }
    });
  });
  // Upgrades go byte for byte to the server: the request line and headers
  // as received, then both directions piped.
  srv.on('upgrade', (req, sock, head) => {
    const u = new URL(target);
    const up = net.connect(Number(u.port), u.hostname, () => {
      let pre = `${req.method} ${req.url} HTTP/1.1\r\n`;
      for (let i = 0; i < req.rawHeaders.length; i += 2) pre += `${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}\r\n`;
      up.write(pre + '\r\n');
      if (head.length) up.write(head);
      sock.pipe(up);
      up.pipe(sock);
    });
    tunnels.add(sock);
    tunnels.add(up);
    const end = () => { sock.destroy(); up.destroy(); tunnels.delete(sock); tunnels.delete(up); };
    sock.on('error', end);
    up.on('error', end);
    sock.on('close', end);
    up.on('close', end);
  });
  const port = await h.freePort();
  await new Promise((r) => srv.listen(port, '127.0.0.1', r));
  proxy.url = `http://127.0.0.1:${port}`;
  proxy.close = async () => {
    for (const t of tunnels) t.destroy();
    for (const r of held) r.destroy();
    srv.closeAllConnections();
    await new Promise((r) => srv.close(r));
  };
  return proxy;
}

module.exports = { subnet, printer, agentKey, startAgent, runAgent, tmpSpool, startProxy };
