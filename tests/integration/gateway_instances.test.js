// gateway_instances.test.js: two server instances on one database. Events
// written through A reach clients of B (and back), commands sent through A's
// REST reach an agent connected to B, and allowed_origins is per instance.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const h = require('../lib/harness');
const k = require('../lib/authkit');
const w = require('../lib/wskit');

test('fan-out and commands across two instances', async (t) => {
  const db = await h.createDatabase();
  // Both instances sign and check sessions with one key, as behind a load balancer.
  const secret = crypto.randomBytes(32).toString('base64');
  const sA = await h.startServer({ db, env: { PRINTMASTER_SESSION_SECRET: secret } });
  const sB = await h.startServer({ db, env: { PRINTMASTER_SESSION_SECRET: secret,
    PRINTMASTER_ALLOWED_ORIGINS: 'http://page.example, https://other.example' } });
  t.after(() => Promise.all([sA.stop(), sB.stop()]));
  // Rows past event_retention (168 h by default) are pruned by the listeners
  // (a company no client here is in), written at once: the first prune runs
  // 10 s after start, and making the tenants below can take longer than that
  // on a loaded machine.
  db.exec(`INSERT INTO printer_events (company_id, type, payload, created_at)
    SELECT gen_random_uuid(), 'printer:status', '{}', now() - interval '200 hours'
    FROM generate_series(1, 3)`);
  const T = await w.tenants(db, sA);
  const clients = [];
  const connect = async (s, o) => { const c = await w.connect(s, o); clients.push(c); return c; };
  t.after(() => Promise.all(clients.map((c) => c.close())));

  const onB = await connect(sB, { token: T.tok.adminA });
  const onA = await connect(sA, { token: T.tok.viewerA1 });
  await w.rename(sA, T.tok.adminA, T.printers.a1, 'Written via A');
  let m = await onB.next((x) => x.type === 'event');
  assert.equal(m.event, 'printer:updated');
  assert.equal(m.data.printer.displayName, 'Written via A');
  await w.rename(sB, T.tok.adminA, T.printers.a1, 'Written via B');
  m = await onA.next((x) => x.type === 'event' && x.data.printer.displayName === 'Written via B');
  await onB.next((x) => x.type === 'event' && x.data.printer.displayName === 'Written via B');
  assert.deepEqual(onA.events().map((e) => e.data.printer.displayName), ['Written via A', 'Written via B']);
  assert.deepEqual(onB.events().map((e) => e.id), onA.events().map((e) => e.id));

  // An agent held by B: presence is seen through A, commands sent via A reach it.
  const agent = await connect(sB, { token: T.agentKey });
  agent.send({ type: 'hello', hostname: 'b-host', version: '9' });
  await onA.next((x) => x.event === 'agent:online');
  let r = await h.api(sA, 'GET', '/api/v1/printing/agents', { headers: k.bearer(T.tok.adminA) });
  assert.equal(r.json.agents[0].online, true);
  r = await h.api(sA, 'POST', `/api/v1/printing/printers/${T.printers.a1}/test-print`,
    { headers: k.bearer(T.tok.adminA) });
  assert.equal(r.status, 202);
  assert.equal(r.json.agents, 1);
  m = await agent.next((x) => x.type === 'command' && x.requestId === r.json.requestId);
  assert.equal(m.command, 'test-print');
  assert.equal(m.printer.displayName, 'Written via B');
  await agent.close();
  await onA.next((x) => x.event === 'agent:offline');
  r = await h.api(sA, 'POST', '/api/v1/printing/scan', { headers: k.bearer(T.tok.adminA), body: { branchId: T.a1 } });
  assert.equal(r.status, 409);

  // allowed_origins is B's setting only.
  const page = await connect(sB, { token: T.tok.adminA, origin: 'http://page.example' });
  assert.equal(page.welcome.role, 'admin');
  await assert.rejects(w.connect(sA, { token: T.tok.adminA, origin: 'http://page.example' }),
    (e) => e.refused === true);
  await assert.rejects(w.connect(sB, { token: T.tok.adminA, origin: 'http://page.example.evil' }),
    (e) => e.refused === true);

  // The first prune runs 10 s after start; recent events stay.
  await h.waitFor(() => db.count('printer_events', "created_at < now() - interval '168 hours'") === 0,
    { timeout: 20000, what: 'old events pruned' });
  assert.ok(db.count('printer_events') > 0);
  const pruned = async (s) => Number((await h.api(s, 'GET', '/metrics')).text
    .match(/^printmaster_events_pruned_total (\d+)$/m)[1]);
  assert.equal(await pruned(sA) + await pruned(sB), 3);
});
