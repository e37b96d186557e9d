// agent_sync.test.js: printmaster-agent run / sync --once / status against the
// real server and database, with printers simulated by loopback listeners:
// printers appear, vanished ones go offline (never deleted), heartbeats,
// statistics over the websocket or the HTTP fallback, server commands, two
// agents on one branch, a server outage, SIGKILL mid-batch, item and
// whole-request 4xx replies, and Retry-After.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const h = require('../lib/harness');
const sim = require('./sync_helpers');

let db, server;

test.before(async () => {
  db = await h.createDatabase();
  server = await h.startServer({ db });
});
test.after(async () => { await server.stop(); });

function rows(branchId) {
  return db.query(`SELECT device_key, address, status, last_seen, sources FROM printers
                    WHERE branch_id = '${branchId}' ORDER BY address`);
}

async function printers(net, port, n) {
  const out = [];
  for (let i = 1; i <= n; i++) out.push(await sim.printer(`${net.base}.${i}`, port));
  return out;
}

// A company with one branch, an agent key, and n printers on a subnet of its own.
async function scene(d, company, agent, n) {
  const t = h.seedTenant(d, { company, branches: ['Main'] });
  const key = sim.agentKey(d, t.branchId, agent);
  const net = sim.subnet();
  const port = await h.freePort();
  return { t, key, net, port, ps: await printers(net, port, n) };
}

test('printers appear after one scan, a vanished one goes offline after N scans and is kept; ' +
     'heartbeat, stats over the websocket, status, SIGTERM', async () => {
  const { t, key, net, port, ps } = await scene(db, 'Sync One', 'front desk', 3);
  const spool = sim.tmpSpool();
  const opts = { url: server.url, key, cidr: net.cidr, port, spool,
    extra: { PRINTMASTER_HEARTBEAT_INTERVAL: '5' } };
  const a = sim.startAgent(opts);
  try {
    await h.waitFor(() => rows(t.branchId).length === 3, { what: 'three printers' });
    const r = rows(t.branchId);
    assert.deepEqual(r.map((x) => [x.device_key, x.status]),
      ps.map((p) => [`net:${p.host}:${port}`, 'online']));
    const agentId = db.one(`SELECT id FROM agents WHERE branch_id = '${t.branchId}'`).id;
    assert.equal(r[0].sources.agents[agentId].status, 'online');

    // Statistics and presence arrive over the websocket.
    await h.waitFor(() => {
      const ag = db.one(`SELECT stats, hostname, version FROM agents WHERE id = '${agentId}'`);
      return ag.stats.synced === 3 && ag.stats.queueSize === 0 && ag.hostname === os.hostname();
    }, { what: 'agent stats over ws' });
    assert.doesNotMatch(a.log(), /\[FALLBACK\]/);

    // Gone from the network: offline after lost_after_scans (2) scans, never deleted.
    const t0 = Date.now();
    await ps[2].close();
    await h.waitFor(() => rows(t.branchId)[2].status === 'offline', { what: 'offline' });
    assert.ok(Date.now() - t0 >= 1000, 'not before two missed scans');
    assert.equal(rows(t.branchId).length, 3);
    assert.equal(db.count('printer_events', `branch_id = '${t.branchId}' AND type = 'printer:lost'`), 1);

    // The heartbeat refreshes last_seen of unchanged printers, not of the lost one.
    const before = rows(t.branchId);
    await h.waitFor(() => new Date(rows(t.branchId)[0].last_seen) > new Date(before[0].last_seen),
      { timeout: 12000, what: 'heartbeat refreshing last_seen' });
    assert.match(a.log(), /\[AUTO-SYNC\] heartbeat: 2 printers queued/);
    const after = rows(t.branchId);
    assert.equal(after[2].status, 'offline');
    assert.equal(after[2].last_seen, before[2].last_seen);
    // Heartbeats change nothing, so no new printer events.
    assert.equal(db.count('printer_events', `branch_id = '${t.branchId}' AND type LIKE 'printer:%'
      AND type NOT LIKE 'printer:sync%'`), 4);

    const st = await sim.runAgent(['status'], opts);
    assert.equal(st.code, 0);
    assert.match(st.stdout, /queue size\s+0\n/);
    assert.match(st.stdout, /websocket\s+connected/);
    const synced = Number(/synced\s+(\d+)/.exec(st.stdout)[1]);
    assert.ok(synced >= 6, `synced ${synced}`);
    assert.match(st.stdout, /failed\s+0\n/);
  } finally {
    assert.deepEqual(await a.stop('SIGTERM'), { code: 0, sig: null });
    for (const p of ps) await p.close().catch(() => {});
  }
  const log = a.log();
  assert.match(log, /\[AUTO-SYNC\] batch [0-9a-f]{8}: 3 printers: 3 new, 0 updated, 0 unchanged, 0 skipped, 0 duplicate, 0 failed; HTTP 200 in [0-9.]+ ms \(attempt 1\)/);
  assert.ok(!log.includes(key), 'the agent key is never logged');
  assert.ok(!log.includes(key.slice(4, 20)), 'not even a part of it');
});

test('without the websocket stats go over HTTP ([FALLBACK]); scan and test-print commands ' +
     'arrive over the websocket', async () => {
  const { t, key, net, port, ps } = await scene(db, 'Sync Two', 'kitchen', 1);
  const base = { url: server.url, key, cidr: net.cidr, port };

  const a = sim.startAgent({ ...base, spool: sim.tmpSpool(), extra: { PRINTMASTER_WEBSOCKET: '0' } });
  try {
    const agentId = db.one(`SELECT id FROM agents WHERE branch_id = '${t.branchId}'`).id;
    await h.waitFor(() => db.one(`SELECT stats FROM agents WHERE id = '${agentId}'`).stats.synced === 1,
      { what: 'stats over HTTP' });
    assert.match(a.log(), /\[FALLBACK\] websocket down: statistics sent over HTTP: ok/);
  } finally {
    assert.equal((await a.stop()).code, 0);
  }

  // Now with the live connection: the server relays commands.
  const b = sim.startAgent({ ...base, spool: sim.tmpSpool(), extra: { PRINTMASTER_SCAN_INTERVAL: '3600' } });
  try {
    await h.waitFor(() => /websocket connected/.test(b.log()) && rows(t.branchId).length === 1,
      { what: 'agent connected' });
    const auth = { Authorization: `Bearer ${key}` };
    const id = db.one(`SELECT id FROM printers WHERE branch_id = '${t.branchId}'`).id;
    // A second printer appears; the hourly scan would not see it, "Scan now" does.
    const extra = await sim.printer(`${net.base}.2`, port);
    ps.push(extra);
    let r = await h.api(server, 'POST', '/api/v1/printing/scan', { headers: auth, body: {} });
    assert.equal(r.status, 202);
    await h.waitFor(() => rows(t.branchId).length === 2, { what: 'printer found by a scan command' });
    await h.waitFor(() => /command \S+ ok: scan done: 2 found, 1 new/.test(server.log()),
      { what: 'scan command-result' });

    r = await h.api(server, 'POST', `/api/v1/printing/printers/${id}/test-print`, { headers: auth });
    assert.equal(r.status, 202);
    await h.waitFor(() => Buffer.concat(ps[0].received).includes('printmaster test print'),
      { what: 'ESC/POS ticket on the printer' });
    const ticket = Buffer.concat(ps[0].received);
    assert.equal(ticket[0], 0x1b);
    assert.equal(ticket[1], 0x40);	// ESC @ first
    await h.waitFor(() => /command \S+ ok: ESC\/POS test ticket sent/.test(server.log()),
      { what: 'test-print command-result' });
    assert.equal(ps[1].received.length, 0, 'nothing written to the other printer');
  } finally {
    assert.equal((await b.stop()).code, 0);
    for (const p of ps) await p.close();
  }
});

test('two agents on one branch seeing one printer: one row; neither marks the other\'s ' +
     'printers offline', async () => {
  const t = h.seedTenant(db, { company: 'Sync Three', branches: ['Main'] });
  const k1 = sim.agentKey(db, t.branchId, 'till 1');
  const k2 = sim.agentKey(db, t.branchId, 'till 2');
  const net = sim.subnet();
  const port = await h.freePort();
  const ps = await printers(net, port, 2);	// .1 shared, .2 only agent 1 scans it
  const spool1 = sim.tmpSpool();
  let a1 = sim.startAgent({ url: server.url, key: k1, cidr: net.cidr, port, spool: spool1 });
  const a2 = sim.startAgent({ url: server.url, key: k2, cidr: `${net.base}.1/32`, port,
    spool: sim.tmpSpool() });
  try {
    await h.waitFor(() => {
      const r = rows(t.branchId);
      return r.length === 2 && Object.keys(r[0].sources.agents || {}).length === 2;
    }, { what: 'both agents report the shared printer' });
    assert.equal(db.count('printers', `branch_id = '${t.branchId}' AND address = '${net.base}.1'`), 1);

    // Agent 1 stops seeing the shared printer (its scan range changes); agent 2
    // still sees it: the row stays online.
    await a1.stop();
    a1 = sim.startAgent({ url: server.url, key: k1, cidr: `${net.base}.2/32`, port, spool: spool1 });
    const id1 = db.one(`SELECT id FROM agents WHERE name = 'till 1' AND branch_id = '${t.branchId}'`).id;
    await h.waitFor(() => rows(t.branchId)[0].sources.agents[id1].status === 'offline',
      { what: 'agent 1 reports the shared printer lost' });
    let r = rows(t.branchId);
    assert.equal(r[0].status, 'online', 'agent 2 still sees it');
    assert.equal(r[1].status, 'online');

    // Only when agent 2 loses it too does it go offline.
    await ps[0].close();
    const id2 = db.one(`SELECT id FROM agents WHERE name = 'till 2' AND branch_id = '${t.branchId}'`).id;
    await h.waitFor(() => rows(t.branchId)[0].status === 'offline', { what: 'offline for both' });
    r = rows(t.branchId);
    assert.equal(r[0].sources.agents[id2].status, 'offline');
    assert.equal(r[1].status, 'online', 'agent 1\'s own printer untouched');
    assert.equal(db.count('printers', `branch_id = '${t.branchId}'`), 2);
  } finally {
    await a1.stop();
    await a2.stop();
    for (const p of ps) await p.close().catch(() => {});
  }
});

test('server down for a while, then back: everything arrives, nothing twice', async () => {
  const db2 = await h.createDatabase();
  let s2 = await h.startServer({ db: db2 });
  const port2 = s2.port;
  const { t, key, net, port, ps } = await scene(db2, 'Outage', 'back office', 2);
  // Retry delays capped at 2 s: the websocket's reconnect uses the same backoff,
  // and a full-jitter delay of up to 30 s after the outage would make the
  // reconnect check below a matter of luck.
  const a = sim.startAgent({ url: s2.url, key, cidr: net.cidr, port, spool: sim.tmpSpool(),
    extra: { PRINTMASTER_BATCH_SIZE: '2', PRINTMASTER_MAX_RETRY_DELAY_MS: '2000' } });
  try {
    await h.waitFor(() => db2.count('printers') === 2, { what: 'first printers' });
    assert.equal((await s2.stop()).code, 0);
    // While the server is away: four more printers, one of the first goes.
    for (let i = 3; i <= 6; i++) ps.push(await sim.printer(`${net.base}.${i}`, port));
    await ps[0].close();
    await h.waitFor(() => /retries used, it stays spooled/.test(a.log()), { what: 'retries exhausted' });
    const state = () => fs.readFileSync(path.join(path.dirname(a.logFile), 'spool', 'state.json'), 'utf8');
    await h.waitFor(() => /"queueSize": [1-9]/.test(state()), { what: 'queue filled' });
    await new Promise((res) => setTimeout(res, 1500));
    s2 = await h.startServer({ db: db2, port: port2 });
    await h.waitFor(() => db2.count('printers') === 6 &&
      db2.count('printers', `status = 'offline'`) === 1, { timeout: 15000, what: 'all arrived' });
    await h.waitFor(() => /"queueSize": 0,/.test(state()), { what: 'queue drained' });
    const off = db2.one(`SELECT address FROM printers WHERE status = 'offline'`).address;
    assert.equal(off, `${net.base}.1`);
    // Each printer discovered once; each batch recorded once.
    const ev = db2.query(`SELECT printer_id, count(*)::int AS n FROM printer_events
                           WHERE type = 'printer:discovered' GROUP BY printer_id`);
    assert.equal(ev.length, 6);
    assert.ok(ev.every((e) => e.n === 1));
    const sb = db2.one(`SELECT count(*)::int AS n, count(DISTINCT idempotency_key)::int AS k
                          FROM sync_batches`);
    assert.equal(sb.n, sb.k);
    assert.match(a.log(), /retry 1\/3 in \d+ ms/);
    // The websocket came back by itself after the outage.
    await h.waitFor(() => (a.log().match(/websocket connected/g) || []).length >= 2,
      { timeout: 15000, what: 'websocket reconnected' });
  } finally {
    assert.equal((await a.stop()).code, 0);
    for (const p of ps) await p.close().catch(() => {});
    await s2.stop();
  }
});

test('sync_concurrency = 3: batches in flight at once, never two with one printer; the server ' +
     'down for a while: everything arrives once, each printer\'s last change last', async () => {
  const db2 = await h.createDatabase();
  let s2 = await h.startServer({ db: db2 });
  const port2 = s2.port;
  const { net, port, ps, key } = await scene(db2, 'Concurrent', 'busy till', 3);
  // Each bulk request is held 300 ms by the proxy, so batches sent at once
  // are seen overlapping.
  const proxy = await sim.startProxy(s2.url);
  proxy.delayMs = 300;
  const a = sim.startAgent({ url: proxy.url, key, cidr: net.cidr, port, spool: sim.tmpSpool(),
    extra: { PRINTMASTER_BATCH_SIZE: '1', PRINTMASTER_SYNC_CONCURRENCY: '3',
      PRINTMASTER_MAX_RETRY_DELAY_MS: '2000' } });
  try {
    await h.waitFor(() => db2.count('printers') === 3, { what: 'first printers' });
    assert.match(a.log(), /\(batch 1, 3 retries, 3 in flight,/);
    assert.equal((await s2.stop()).code, 0);
    // While the server is away: three more printers, two of the first go.
    for (let i = 4; i <= 6; i++) ps.push(await sim.printer(`${net.base}.${i}`, port));
    await ps[0].close();
    await ps[1].close();
    await h.waitFor(() => /retries used, it stays spooled/.test(a.log()), { what: 'retries exhausted' });
    await new Promise((res) => setTimeout(res, 1500));
    s2 = await h.startServer({ db: db2, port: port2 });
    await h.waitFor(() => db2.count('printers') === 6 &&
      db2.count('printers', `status = 'offline'`) === 2, { timeout: 20000, what: 'all arrived' });
    const state = () => fs.readFileSync(path.join(path.dirname(a.logFile), 'spool', 'state.json'), 'utf8');
    await h.waitFor(() => /"queueSize": 0,/.test(state()), { what: 'queue drained' });
    const off = db2.query(`SELECT address FROM printers WHERE status = 'offline' ORDER BY address`);
    assert.deepEqual(off.map((r) => r.address), [`${net.base}.1`, `${net.base}.2`].sort());

    // Up to three batches overlapped; two that overlapped never shared a printer.
    const done = proxy.bulk.filter((b) => b.end);
    let most = 0;
    for (const x of done) {
      const at = done.filter((y) => y.at <= x.at && y.end > x.at);
      most = Math.max(most, at.length);
      for (const y of at) {
        if (y === x) continue;
        const kx = x.body.printers.map((p) => p.deviceKey);
        assert.ok(!y.body.printers.some((p) => kx.includes(p.deviceKey)),
          `two batches in flight with one printer: ${kx}`);
      }
    }
    assert.ok(most >= 2 && most <= 3, `batches in flight at once: ${most}`);
    // Each printer discovered once, lost once after that; each batch recorded once.
    const ev = db2.query(`SELECT printer_id, count(*)::int AS n FROM printer_events
                           WHERE type = 'printer:discovered' GROUP BY printer_id`);
    assert.equal(ev.length, 6);
    assert.ok(ev.every((e) => e.n === 1));
    const lost = db2.query(`SELECT p.address, e.id > d.id AS after FROM printer_events e
                              JOIN printers p ON p.id = e.printer_id
                              JOIN printer_events d ON d.printer_id = e.printer_id AND d.type = 'printer:discovered'
                             WHERE e.type = 'printer:lost' ORDER BY p.address`);
    assert.deepEqual(lost.map((r) => [r.address, r.after]), [[`${net.base}.1`, true], [`${net.base}.2`, true]]);
    const sb = db2.one(`SELECT count(*)::int AS n, count(DISTINCT idempotency_key)::int AS k
                          FROM sync_batches`);
    assert.equal(sb.n, sb.k);
  } finally {
    assert.equal((await a.stop()).code, 0);
    for (const p of ps) await p.close().catch(() => {});
    await proxy.close();
    await s2.stop();
  }
});

test('agent killed with SIGKILL mid-batch and restarted: nothing lost, nothing applied twice', async () => {
  const { t, key, net, port, ps } = await scene(db, 'Crash', 'crashy', 5);
  const proxy = await sim.startProxy(server.url);
  const spool = sim.tmpSpool();
  const opts = { url: proxy.url, key, cidr: net.cidr, port, spool,
    extra: { PRINTMASTER_BATCH_SIZE: '2' } };
  // Forward the second batch to the server but never deliver the reply: the
  // server has committed it, the agent does not know.
  proxy.onBulk = (req, n) => (n === 2 ? { hold: true } : undefined);
  let a = sim.startAgent(opts);
  try {
    await h.waitFor(() => proxy.bulk.length >= 2, { what: 'second batch in flight' });
    // Deliver the held batch to the server ourselves, as if the reply was lost.
    const held = proxy.bulk[1];
    const r = await h.api(server, 'POST', '/api/v1/printing/printers/bulk', {
      raw: JSON.stringify(held.body),
      headers: { Authorization: held.auth, 'Idempotency-Key': held.idem, 'Content-Type': 'application/json' } });
    assert.equal(r.status, 200);
    assert.equal(db.count('printers', `branch_id = '${t.branchId}'`), 4);
    assert.equal((await a.stop('SIGKILL')).sig, 'SIGKILL');

    proxy.onBulk = null;
    a = sim.startAgent(opts);
    await h.waitFor(() => rows(t.branchId).length === 5, { what: 'all five' });
    await h.waitFor(() => proxy.bulk.filter((b) => b.idem === held.idem).length === 2,
      { what: 'the held batch resent' });
    const again = proxy.bulk.filter((b) => b.idem === held.idem);
    assert.deepEqual(again[1].body, again[0].body, 'same body under the same key');
    assert.equal(again[1].replayed, true, 'the server recognised it');
    assert.match(a.log(), /changes waiting from before \(2 in formed batches\)/);
    const ev = db.query(`SELECT printer_id, count(*)::int AS n FROM printer_events
      WHERE branch_id = '${t.branchId}' AND type = 'printer:discovered' GROUP BY printer_id`);
    assert.equal(ev.length, 5);
    assert.ok(ev.every((e) => e.n === 1));
    // Three batches wrote; the restarted agent's first heartbeat (its whole
    // state, at start) only refreshes what they wrote.
    assert.equal(db.count('sync_batches', `branch_id = '${t.branchId}' AND unchanged_count < total`), 3);

    // SIGTERM while a request hangs: the request is abandoned, exit 0 promptly,
    // the batch stays spooled and goes out after the restart.
    proxy.onBulk = () => ({ hold: true });
    const n = proxy.bulk.length;
    ps.push(await sim.printer(`${net.base}.6`, port));
    await h.waitFor(() => proxy.bulk.length > n, { what: 'a hanging request' });
    const t0 = Date.now();
    assert.deepEqual(await a.stop('SIGTERM'), { code: 0, sig: null });
    assert.ok(Date.now() - t0 < 3000, `stopped in ${Date.now() - t0} ms`);
    assert.match(a.log(), /abandoned on shutdown; it stays spooled/);
    const st = await sim.runAgent(['status'], opts);
    assert.match(st.stdout, /queue size\s+1\n/);
    proxy.onBulk = null;
    a = sim.startAgent(opts);
    await h.waitFor(() => rows(t.branchId).length === 6, { what: 'the sixth printer' });
  } finally {
    await a.stop();
    await proxy.close();
    for (const p of ps) await p.close();
  }
});

test('sync --once: exit 0 when all synced; a 4xx item is reported and does not block the rest; ' +
     'Retry-After is honoured; 401 keeps the batch spooled; 400/413/422 are set aside, other 4xx ' +
     'retried', async () => {
  const { t, key, net, port, ps } = await scene(db, 'Once', 'once', 3);
  const proxy = await sim.startProxy(server.url);
  try {
    // 429 with Retry-After: 1 first, then an item the server refuses.
    proxy.onBulk = (req, n) => {
      if (n === 1) return { status: 429, headers: { 'Retry-After': '1' } };
      return { mutate: (b) => { b.printers.forEach((p) => { if (p.address === `${net.base}.2`) p.port = 70000; }); return b; } };
    };
    const spool = sim.tmpSpool();
    const opts = { url: proxy.url, key, cidr: net.cidr, port, spool };
    let r = await sim.runAgent(['sync', '--once'], opts);
    assert.equal(r.code, 1, r.stderr);
    assert.equal(proxy.bulk.length, 2, 'the refused item is not retried');
    assert.ok(proxy.bulk[1].at - proxy.bulk[0].at >= 950, 'waited for Retry-After');
    assert.equal(proxy.bulk[1].idem, proxy.bulk[0].idem);
    assert.match(r.stderr, /retry 1\/3 in 1000 ms \(Retry-After\)/);
    assert.match(r.stderr, /item 1 \(Network printer [0-9.:]+\) refused, not retried/);
    assert.match(r.stderr, /NOT all synced/);
    assert.deepEqual(rows(t.branchId).map((x) => x.address), [`${net.base}.1`, `${net.base}.3`]);
    const st = await sim.runAgent(['status'], opts);
    assert.match(st.stdout, /failed\s+1\n/);

    // Everything fine: exit 0.
    proxy.onBulk = null;
    const spool2 = sim.tmpSpool();
    r = await sim.runAgent(['sync', '--once'], { ...opts, spool: spool2 });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /sync --once: all synced/);
    assert.equal(rows(t.branchId).length, 3);

    // A bad key: 401 is a credential problem, not a bad batch: logged with
    // [AUTH], the batch stays spooled (nothing in rejected.jsonl), exit 1.
    let before = proxy.bulk.length;
    const spool3 = sim.tmpSpool();
    r = await sim.runAgent(['sync', '--once'], { ...opts, key: 'pmk_not_a_real_key', spool: spool3 });
    assert.equal(r.code, 1);
    assert.equal(proxy.bulk.length - before, 1, 'no retries within the run');
    assert.ok(!fs.existsSync(path.join(spool3, 'rejected.jsonl')), 'nothing set aside');
    assert.match(r.stderr, /\[AUTH\] the server refuses the agent key \(HTTP 401 unauthorized/);
    assert.doesNotMatch(r.stderr, /refused as a whole/);
    assert.ok(!r.stderr.includes('pmk_not_a_real_key'));
    let st3 = await sim.runAgent(['status'], { ...opts, spool: spool3 });
    assert.match(st3.stdout, /queue size\s+3\n/);
    assert.match(st3.stdout, /rejected batches\s+0\n/);
    // With the right key the same spool goes out: the batch formed under the
    // bad key is sent, then the full current state.
    r = await sim.runAgent(['sync', '--once'], { ...opts, spool: spool3 });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /\[AUTH\] full state queued after the credential problem: 3 printers/);
    st3 = await sim.runAgent(['status'], { ...opts, spool: spool3 });
    assert.match(st3.stdout, /queue size\s+0\n/);

    // A request the server calls malformed (422 here) is set aside in
    // rejected.jsonl and not retried.
    before = proxy.bulk.length;
    const spool4 = sim.tmpSpool();
    proxy.onBulk = () => ({ status: 422,
      body: '{"error":{"code":"idempotency_key_reused","message":"from the proxy"}}' });
    r = await sim.runAgent(['sync', '--once'], { ...opts, spool: spool4 });
    assert.equal(r.code, 1);
    assert.equal(proxy.bulk.length - before, 1);
    const rej = fs.readFileSync(path.join(spool4, 'rejected.jsonl'), 'utf8').trim().split('\n')
      .map((l) => JSON.parse(l));
    assert.equal(rej.length, 1);
    assert.equal(rej[0].httpStatus, 422);
    assert.equal(rej[0].printers.length, 3);
    assert.match(r.stderr, /refused as a whole: HTTP 422 idempotency_key_reused/);
    const st4 = await sim.runAgent(['status'], { ...opts, spool: spool4 });
    assert.match(st4.stdout, /queue size\s+0\n/);
    assert.match(st4.stdout, /rejected batches\s+1\n/);

    // Any other 4xx (404 here: a wrong server_url path) is retried and stays
    // spooled, never set aside.
    before = proxy.bulk.length;
    const spool5 = sim.tmpSpool();
    proxy.onBulk = () => ({ status: 404 });
    r = await sim.runAgent(['sync', '--once'], { ...opts, spool: spool5 });
    assert.equal(r.code, 1);
    assert.equal(proxy.bulk.length - before, 4, 'first try and 3 retries');
    assert.ok(!fs.existsSync(path.join(spool5, 'rejected.jsonl')));
    assert.match(r.stderr, /3 retries used, it stays spooled/);
  } finally {
    await proxy.close();
    for (const p of ps) await p.close();
  }
});

const IPPEVE = '/usr/sbin/ippeveprinter';
test('test-print on an IPP printer is an IPP Print-Job (ippeveprinter)',
  { skip: !fs.existsSync(IPPEVE) && 'ippeveprinter not installed' }, async () => {
  const { spawn } = require('node:child_process');
  const t = h.seedTenant(db, { company: 'IPP', branches: ['Main'] });
  const key = sim.agentKey(db, t.branchId, 'ipp');
  const ippPort = await h.freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pmtest-ipp-'));
  const eve = spawn(IPPEVE, ['-p', String(ippPort), '-r', 'off', '-n', 'localhost', '-d', dir, '-k',
    '-f', 'application/pdf,text/plain', 'PM Sync IPP'], { stdio: 'ignore' });
  const uri = `ipp://127.0.0.1:${ippPort}/ipp/print`;
  const a = sim.startAgent({ url: server.url, key, cidr: '127.0.0.1/32', port: 1, spool: sim.tmpSpool(),
    extra: { PRINTMASTER_SOURCES: 'ipp', PRINTMASTER_IPP_URIS: uri, PRINTMASTER_SCAN_INTERVAL: '1' } });
  try {
    await h.waitFor(() => rows(t.branchId).length === 1 && /websocket connected/.test(a.log()),
      { what: 'IPP printer synced' });
    const p = db.one(`SELECT id, device_key, uri FROM printers WHERE branch_id = '${t.branchId}'`);
    assert.match(p.device_key, /^uuid:/);
    assert.equal(p.uri, uri);
    const r = await h.api(server, 'POST', `/api/v1/printing/printers/${p.id}/test-print`,
      { headers: { Authorization: `Bearer ${key}` } });
    assert.equal(r.status, 202);
    await h.waitFor(() => /command \S+ ok: IPP job \d+ accepted/.test(server.log()),
      { what: 'IPP job accepted' });
    // ippeveprinter -k keeps the document: our text/plain page.
    const doc = await h.waitFor(() => {
      const f = fs.readdirSync(dir, { recursive: true }).map(String).find((n) => /printmaster_test_print/.test(n));
      return f && fs.readFileSync(path.join(dir, f), 'utf8');
    }, { what: 'job file' });
    assert.match(doc, /printmaster test print/);
    assert.match(doc, /PM Sync IPP/);
  } finally {
    assert.equal((await a.stop()).code, 0);
    eve.kill('SIGTERM');
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
