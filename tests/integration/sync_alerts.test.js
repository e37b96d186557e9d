// sync_alerts.test.js: the sync statistics over a recent window (REST, per
// branch and per company) and printer:sync:alert: a branch whose success rate
// over 15 minutes falls below alert_success_rate raises it (event, REST,
// /metrics gauge), recovery clears it; one event per change.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const h = require('../lib/harness');
const k = require('../lib/authkit');
const w = require('../lib/wskit');

const good = (i) => ({ name: `Till ${i}`, connectionType: 'network', protocol: 'raw',
  address: `10.7.0.${i}`, port: 9100, status: 'online' });
const bad = (i) => ({ address: `no name ${i}` });

test('success rate under the threshold raises printer:sync:alert; recovery clears it; ' +
     'the statistics fields in REST per branch and company', async () => {
  const db = await h.createDatabase();
  const s = await h.startServer({ db, env: { PRINTMASTER_ALERT_MIN_ITEMS: '5', PRINTMASTER_ALERT_INTERVAL: '1' } });
  const T = await k.tenant(db, s, { company: 'Alert Co', branches: ['Main', 'Quiet'] });
  const watch = await w.connect(s, { token: T.adminToken });
  const agent = await w.connect(s, { token: T.agentKeys[0] });
  try {
    const post = async (printers) => {
      const r = await h.api(s, 'POST', '/api/v1/printing/printers/bulk',
        { headers: T.agent(0), body: { printers, duplicateHandling: 'update' } });
      assert.equal(r.status, 200, r.text);
      return r.json;
    };
    const stats = async (branch) => (await h.api(s, 'GET',
      `/api/v1/printing/sync/stats${branch ? `?branchId=${branch}` : ''}`, { headers: T.admin })).json;
    const gauge = async () => Number(/^printmaster_sync_alerts (\d+)$/m.exec((await h.api(s, 'GET', '/metrics')).text)[1]);

    // Under the minimum (5 items) nothing is judged: 1 of 2 failed.
    await post([good(1), bad(1)]);
    await w.sleep(1500);
    assert.equal(watch.events().filter((m) => m.event === 'printer:sync:alert').length, 0);

    // 3 of 6 synced: 50 % < 90 %.
    await post([good(2), good(3), bad(2), bad(3)]);
    const up = await watch.next((m) => m.event === 'printer:sync:alert', { timeout: 5000 });
    assert.deepEqual(up.data, { active: true, reason: 'success-rate', successRate: 50, threshold: 90, agentsOffline: [] });
    assert.equal(up.branchId, T.branchId);
    let st = await stats(T.branchId);
    assert.equal(st.successRate, 50);
    assert.equal(st.printersSyncedRecent, 3);
    assert.equal(st.itemsFailedRecent, 3);
    assert.equal(st.batchesRecent, 2);
    assert.equal(st.windowSeconds, 300);
    assert.equal(st.processingRate, 0.6);	// 3 printers over 5 minutes
    assert.ok(st.responseMs.mean > 0 && st.responseMs.p95 >= st.responseMs.mean * 0.5);
    assert.deepEqual(st.alerts.map((a) => [a.branchId, a.reason]), [[T.branchId, 'success-rate']]);
    await h.waitFor(async () => await gauge() === 1, { timeout: 3000, what: 'the gauge at 1' });
    // The agents' own figures, summed: queue, retries, active batches.
    agent.send({ type: 'stats', stats: { queueSize: 4, retries: 2, activeBatches: 1, processingRate: 12.5,
      successRate: 50, p95ResponseMs: 40 } });
    await watch.next((m) => m.event === 'printer:sync:stats');
    st = await stats(T.branchId);
    assert.deepEqual([st.queueSize, st.retries, st.activeBatches], [4, 2, 1]);
    // Per company: the same numbers (the other branch is quiet), its alert listed.
    const co = await stats();
    assert.equal(co.successRate, 50);
    assert.equal(co.queueSize, 4);
    assert.equal(co.alerts.length, 1);
    assert.deepEqual((await stats(T.branchIds[1])).alerts, []);
    assert.equal((await stats(T.branchIds[1])).successRate, null);

    // Recovery: 30 more synced, 33 of 36 = 91.7 %.
    await post(Array.from({ length: 30 }, (_, i) => good(10 + i)));
    const down = await watch.next((m) => m.event === 'printer:sync:alert' && m.data.active === false, { timeout: 5000 });
    assert.equal(down.data.reason, 'success-rate');
    assert.equal(down.data.successRate, 91.7);
    assert.deepEqual((await stats(T.branchId)).alerts, []);
    await h.waitFor(async () => await gauge() === 0, { timeout: 3000, what: 'the gauge at 0' });
    await w.sleep(1500);
    assert.equal(db.count('printer_events', "type = 'printer:sync:alert'"), 2);
    assert.equal(db.one(`SELECT alert_reason FROM branches WHERE id = '${T.branchId}'`).alert_reason, null);
  } finally {
    await agent.close();
    await watch.close();
    await s.stop();
  }
});

test('the success rate is judged every alert_interval seconds; an agent going offline at once, ' +
     'with the rate of that moment', async () => {
  const db = await h.createDatabase();
  const s = await h.startServer({ db, env: { PRINTMASTER_ALERT_MIN_ITEMS: '5',
    PRINTMASTER_ALERT_INTERVAL: '3600', PRINTMASTER_AGENT_OFFLINE_AFTER: '2' } });
  const T = await k.tenant(db, s, { company: 'Judged Co', branches: ['Main'] });
  const watch = await w.connect(s, { token: T.adminToken });
  try {
    // The sweeper's first round (which judges every branch) has run once
    // /metrics has the gauge.
    await h.waitFor(async () => /^printmaster_sync_alerts \d+$/m.test((await h.api(s, 'GET', '/metrics')).text),
      { timeout: 5000, what: 'the first round' });
    // 3 of 6 synced, by the branch's agent (its last contact).
    const r = await h.api(s, 'POST', '/api/v1/printing/printers/bulk',
      { headers: T.agent(0), body: { printers: [good(1), good(2), good(3), bad(1), bad(2), bad(3)] } });
    assert.equal(r.status, 200, r.text);
    // No judgement of the rate for an hour: the first alert is the agent
    // going offline (2 s without contact), and it carries the rate it read.
    const first = await watch.next((m) => m.event === 'printer:sync:alert', { timeout: 8000 });
    assert.equal(first.data.reason, 'agent-offline');
    assert.equal(first.data.active, true);
    assert.equal(first.data.successRate, 50);
    assert.equal(watch.events().filter((m) => m.event === 'printer:sync:alert').length, 1);
    // It comes back (one more printer synced): the branch is judged at once,
    // 4 of 7 = 57.1 %, so the alert's reason becomes the rate.
    const back = await h.api(s, 'POST', '/api/v1/printing/printers/bulk',
      { headers: T.agent(0), body: { printers: [good(4)] } });
    assert.equal(back.status, 200, back.text);
    const next = await watch.next((m) => m.event === 'printer:sync:alert' && m !== first, { timeout: 8000 });
    assert.deepEqual(next.data, { active: true, reason: 'success-rate', successRate: 57.1, threshold: 90,
      agentsOffline: [] });
    assert.equal(db.one(`SELECT alert_reason FROM branches WHERE id = '${T.branchId}'`).alert_reason, 'success-rate');
  } finally {
    await watch.close();
    await s.stop();
  }
});
