// agent_fallback.test.js: the agent behind a loopback proxy that answers 503
// to every POST and passes /ws through: its batches go over the websocket
// ("sync" / "sync-result"), each printer arrives once, with the batch's own
// idempotency key; [FALLBACK] is logged once for the switch and once for the
// return; with the proxy passing POSTs again the agent is back on HTTP.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const h = require('../lib/harness');
const sim = require('./sync_helpers');

let db, server;

test.before(async () => {
  db = await h.createDatabase();
  server = await h.startServer({ db });
});
test.after(async () => { await server.stop(); });

// [FALLBACK] lines of the batches above debug level: the switches themselves.
// (Statistics have [FALLBACK] lines of their own when the websocket is down.)
function switches(log) {
  return log.split('\n').filter((l) => /\[FALLBACK\] bulk POST/.test(l) && !/ debug: /.test(l));
}

test('bulk POSTs answered 503 by a proxy, websocket up: batches go over the websocket, ' +
     'each printer once, [FALLBACK] once; POSTs pass again: back on HTTP, logged once', async () => {
  const t = h.seedTenant(db, { company: 'Fallback', branches: ['Main'] });
  const key = sim.agentKey(db, t.branchId, 'behind a proxy');
  const net = sim.subnet();
  const port = await h.freePort();
  const ps = [];
  for (let i = 1; i <= 3; i++) ps.push(await sim.printer(`${net.base}.${i}`, port));
  const proxy = await sim.startProxy(server.url);
  proxy.postStatus = 503;
  const branch = `branch_id = '${t.branchId}'`;
  const a = sim.startAgent({ url: proxy.url, key, cidr: net.cidr, port, spool: sim.tmpSpool(),
    extra: { PRINTMASTER_FALLBACK_PROBE_INTERVAL: '2', PRINTMASTER_HEARTBEAT_INTERVAL: '5' } });
  try {
    await h.waitFor(() => db.count('printers', branch) === 3, { what: 'printers over the websocket' });
    assert.ok(proxy.bulk.length >= 1);
    assert.ok(proxy.bulk.every((b) => !b.forwarded), 'no bulk POST reached the server');
    // The rows commit before the sync-result reaches the agent and is logged.
    await h.waitFor(() => /batch [0-9a-f]{8}: 3 printers: 3 new, [^\n]*HTTP 200 in [0-9.]+ ms \(attempt \d+, over the websocket\)/.test(a.log()),
      { what: 'the batch logged as sent over the websocket' });
    // The batch kept the idempotency key its refused POST carried.
    const keys = db.query(`SELECT idempotency_key AS k FROM sync_batches WHERE ${branch}`).map((r) => r.k);
    assert.ok(keys.length >= 1);
    assert.ok(keys.every((k) => proxy.bulk.some((b) => b.idem === k)), 'same Idempotency-Key');

    // Heartbeats keep batches coming; after the probe interval each one tries
    // HTTP first, is refused again and goes over the websocket: no new line.
    await h.waitFor(() => new Set(proxy.bulk.map((b) => b.idem)).size >= 2 &&
      db.count('sync_batches', branch) >= 2, { timeout: 15000, what: 'a failed HTTP probe' });
    assert.equal(switches(a.log()).length, 1, switches(a.log()).join('\n'));
    assert.match(switches(a.log())[0], /warn: \[FALLBACK\] bulk POST of batch [0-9a-f]{8} failed \(HTTP 503\) while the websocket is up: batches go over the websocket; HTTP is tried again in 2 s/);

    // The proxy passes POSTs again: the next probe (a heartbeat) goes over HTTP.
    proxy.postStatus = null;
    await h.waitFor(() => /\[FALLBACK\] bulk POSTs work again \(HTTP 200\)/.test(a.log()),
      { timeout: 15000, what: 'back on HTTP' });
    ps.push(await sim.printer(`${net.base}.4`, port));
    await h.waitFor(() => db.count('printers', branch) === 4, { what: 'a new printer' });
    // The proxy marks a request forwarded once it has read the server's answer.
    const four = () => proxy.bulk.filter((b) => b.body.printers.some((p) => p.address === `${net.base}.4`));
    await h.waitFor(() => four().length >= 1 && four().every((b) => b.forwarded),
      { what: 'the new printer came by HTTP' });
    assert.equal(switches(a.log()).length, 2, switches(a.log()).join('\n'));

    // Each printer discovered once; each batch recorded once.
    const ev = db.query(`SELECT printer_id, count(*)::int AS n FROM printer_events
                         WHERE ${branch} AND type = 'printer:discovered' GROUP BY printer_id`);
    assert.equal(ev.length, 4);
    assert.ok(ev.every((e) => e.n === 1));
    const sb = db.one(`SELECT count(*)::int AS n, count(DISTINCT idempotency_key)::int AS k
                         FROM sync_batches WHERE ${branch}`);
    assert.equal(sb.n, sb.k);
  } finally {
    assert.equal((await a.stop()).code, 0);
    for (const p of ps) await p.close().catch(() => {});
    await proxy.close();
  }
});
