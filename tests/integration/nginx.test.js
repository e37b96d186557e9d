// nginx.test.js: Debian's nginx, run as a private instance (its own prefix and
// config in a temp dir, loopback, a port below 32768), in front of two server
// instances on one database, with the very config of dist/nginx-printmaster.conf
// (its upstream ports replaced, and plain HTTP on loopback instead of the TLS
// listener). An agent posts through nginx; websocket clients that nginx spread
// over both instances all receive every event; one instance is killed and the
// agent and the clients carry on through the other with nothing lost.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const crypto = require('node:crypto');
const { spawn } = require('node:child_process');
const h = require('../lib/harness');
const w = require('../lib/wskit');
const sim = require('./sync_helpers');

// dist/nginx-printmaster.conf with its ports replaced; each replacement must
// hit exactly what the file says, so a changed example changes this test.
function renderSite(listenPort, upstreamPorts) {
  let text = fs.readFileSync(path.join(h.ROOT, 'dist/nginx-printmaster.conf'), 'utf8');
  const swap = (re, to, count) => {
    const n = (text.match(re) || []).length;
    assert.equal(n, count, `dist/nginx-printmaster.conf: ${re} found ${n} times`);
    text = text.replace(re, to);
  };
  swap(/^( *server 127\.0\.0\.1:)300([12])( )/mg, (m, a, i, b) => `${a}${upstreamPorts[i - 1]}${b}`, 4);
  swap(/^ *listen 443 ssl http2;$/m, `    listen 127.0.0.1:${listenPort};`, 1);
  swap(/^ *ssl_certificate(_key)? .*\n/mg, '', 2);
  return text;
}

async function startNginx(upstreamPorts) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pmtest-nginx-'));
  fs.chmodSync(dir, 0o755);
  fs.mkdirSync(path.join(dir, 'tmp'), { mode: 0o777 });
  fs.chmodSync(path.join(dir, 'tmp'), 0o777);
  const port = await h.freePort();
  fs.writeFileSync(path.join(dir, 'printmaster.conf'), renderSite(port, upstreamPorts));
  const t = (n) => path.join(dir, 'tmp', n);
  fs.writeFileSync(path.join(dir, 'nginx.conf'), `
daemon off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log info;
events { worker_connections 512; }
http {
    access_log ${dir}/access.log;
    client_body_temp_path ${t('body')};
    proxy_temp_path ${t('proxy')};
    fastcgi_temp_path ${t('fastcgi')};
    uwsgi_temp_path ${t('uwsgi')};
    scgi_temp_path ${t('scgi')};
    include ${dir}/printmaster.conf;
}
`);
  const out = fs.openSync(path.join(dir, 'nginx.out'), 'a');
  const proc = spawn('/usr/sbin/nginx', ['-p', `${dir}/`, '-c', `${dir}/nginx.conf`, '-e', `${dir}/error.log`],
    { stdio: ['ignore', out, out] });
  fs.closeSync(out);
  let exited = null;
  proc.on('exit', (code, sig) => { exited = { code, sig }; });
  process.on('exit', () => { if (!exited) proc.kill('SIGKILL'); });
  const ngx = {
    port, dir, url: `http://127.0.0.1:${port}`,
    log: () => fs.readFileSync(path.join(dir, 'error.log'), 'utf8'),
    async stop() {
      if (!exited) proc.kill('SIGQUIT');
      await h.waitFor(() => exited, { timeout: 10000, what: 'nginx exit' });
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  await h.waitFor(async () => {
    if (exited) throw new Error(`nginx exited ${JSON.stringify(exited)}: ` +
      fs.readFileSync(path.join(dir, 'nginx.out'), 'utf8') + ngx.log());
    return (await fetch(ngx.url + '/healthz')).ok;
  }, { what: 'nginx /healthz' });
  return ngx;
}

// A page-like client through nginx: on a closed socket it connects again (to
// whichever instance nginx picks) and catches up with `since`.
function follower(ngx, token) {
  const f = { conns: [], stopped: false };
  f.ids = () => new Set(f.conns.flatMap((c) => c.events().map((e) => e.id)));
  f.lastId = () => Math.max(0, ...f.ids());
  const open = async () => {
    const deadline = Date.now() + 15000;
    for (;;) {
      try {
        const since = f.lastId();
        const c = await w.connect(ngx, { token, held: true });
        f.conns.push(c);
        c.send({ type: 'subscribe', since });
        c.ws.on('close', () => { if (!f.stopped) setTimeout(() => open().catch(() => {}), 100); });
        return c;
      } catch (e) {
        if (f.stopped) return null;
        if (Date.now() > deadline) { f.error = e; throw e; }
        await w.sleep(200);
      }
    }
  };
  f.ready = open();
  f.close = async () => { f.stopped = true; await Promise.all(f.conns.map((c) => c.close())); };
  return f;
}

test('two instances behind nginx: agent and websocket clients survive losing one',
  { timeout: 180000 }, async (t) => {
  const db = await h.createDatabase();
  const secret = crypto.randomBytes(32).toString('base64');
  const env = { PRINTMASTER_SESSION_SECRET: secret };
  const sA = await h.startServer({ db, env });
  const sB = await h.startServer({ db, env });
  const ngx = await startNginx([sA.port, sB.port]);
  t.after(async () => { sA.kill(); await sB.stop(); await ngx.stop(); });
  const T = await w.tenants(db, ngx);

  // Four clients through nginx; without sticky sessions they land on both.
  const fs4 = [];
  for (let i = 0; i < 4; i++) {
    const f = follower(ngx, i % 2 ? T.tok.adminA : T.tok.viewerA1);
    fs4.push(f);
    await f.ready;
  }
  t.after(() => Promise.all(fs4.map((f) => f.close())));
  assert.equal(await h.metric(sA, 'printmaster_ws_clients'), 2);
  assert.equal(await h.metric(sB, 'printmaster_ws_clients'), 2);

  // The agent posts through nginx (HTTP and its websocket).
  const net = sim.subnet();
  const pport = await h.freePort();
  const ps = [];
  for (let i = 1; i <= 3; i++) ps.push(await sim.printer(`${net.base}.${i}`, pport));
  t.after(() => Promise.all(ps.map((p) => p.close().catch(() => {}))));
  const agent = sim.startAgent({ url: ngx.url, key: T.agentKey, cidr: net.cidr, port: pport,
    spool: sim.tmpSpool() });
  t.after(() => agent.stop());
  const rows = () => db.query(`SELECT address, status FROM printers
    WHERE branch_id = '${T.a1}' AND address IS NOT NULL ORDER BY address`);
  await h.waitFor(() => rows().length === 3, { what: 'three printers through nginx' });
  const dbIds = () => db.query(`SELECT id FROM printer_events
    WHERE company_id = '${T.A.companyId}' ORDER BY id`).map((r) => Number(r.id));
  const allHaveAll = async (what) => {
    const want = dbIds();
    await h.waitFor(() => fs4.every((f) => {
      const got = f.ids();
      if (f.error) throw f.error;
      return want.every((id) => got.has(id));
    }), { timeout: 15000, what });
    return want;
  };
  const before = await allHaveAll('every client has every event before the kill');
  assert.ok(before.length >= 3);
  assert.equal(await h.metric(sA, 'printmaster_ws_agents') + await h.metric(sB, 'printmaster_ws_agents'), 1);

  // Instance A dies at once (no goodbye): its clients reconnect through nginx to B.
  sA.kill();
  await h.waitFor(() => sA.exited(), { what: 'instance A gone' });
  for (let i = 4; i <= 5; i++) ps.push(await sim.printer(`${net.base}.${i}`, pport));
  await ps[0].close();
  await h.waitFor(() => {
    const r = rows();
    return r.length === 5 && r[0].status === 'offline' && r.slice(1).every((x) => x.status === 'online');
  }, { timeout: 20000, what: 'two new printers and one lost, through nginx to B' });
  const after = await allHaveAll('every client has every event after the kill');
  assert.ok(after.length > before.length);
  // Nothing duplicated either: each client saw each event once per connection.
  for (const f of fs4) {
    for (const c of f.conns) {
      const ids = c.events().map((e) => e.id);
      assert.equal(new Set(ids).size, ids.length);
    }
  }
  assert.equal(fs4.filter((f) => f.conns.length > 1).length, 2, 'the two clients of A reconnected');
  await h.waitFor(async () => await h.metric(sB, 'printmaster_ws_agents') === 1,
    { what: 'the agent holds its websocket on B' });
  assert.equal(await h.metric(sB, 'printmaster_ws_clients'), 5, 'four clients and the agent on B');
  assert.equal(agent.exited(), null);
  assert.doesNotMatch(agent.log(), /item .* failed/i);
});
