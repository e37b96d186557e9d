// agent_lease.test.js: agent leases (agent_offline_after). Two real agents on
// one branch, one printer seen by both and one by the first only; the first
// killed with SIGKILL: its own printer turns unknown / agent-offline (API,
// printer:status event), the shared one stays online; restarted, both are
// online again and the events come in order. Two server instances sweep
// once; an HTTP-only agent is written offline and online by the sweeper;
// sync_batches rows past batch_retention are pruned.
'use strict';
const test = require('node:test');
const crypto = require('node:crypto');
const assert = require('node:assert/strict');
const h = require('../lib/harness');
const k = require('../lib/authkit');
const w = require('../lib/wskit');
const sim = require('./sync_helpers');

const OFFLINE_AFTER = 3;

function printerByAddr(db, branchId, addr) {
  return db.one(`SELECT id, status, state_reasons FROM printers
                 WHERE branch_id = '${branchId}' AND address = '${addr}'`);
}

async function api(server, T, p) {
  const r = await h.api(server, 'GET', p, { headers: T.admin });
  assert.equal(r.status, 200, r.text);
  return r.json;
}

test('a silent agent: its own printer turns unknown / agent-offline, the shared one stays; ' +
     'restarted, everything is back, events in order', async () => {
  const db = await h.createDatabase();
  const server = await h.startServer({ db, env: { PRINTMASTER_AGENT_OFFLINE_AFTER: String(OFFLINE_AFTER) } });
  const T = await k.tenant(db, server, { company: 'Lease Co', branches: ['Main'] });
  const keyB = k.adminOk(db, ['agent', 'create', '--branch', T.branchId, 'agent-b']);
  const idA = db.one("SELECT id FROM agents WHERE name = 'agent-0'").id;
  const net = sim.subnet();
  const port = await h.freePort();
  const shared = await sim.printer(`${net.base}.1`, port);
  const own = await sim.printer(`${net.base}.2`, port);
  const spoolA = sim.tmpSpool();
  const optsA = { url: server.url, key: T.agentKeys[0], cidr: `${shared.host}/32,${own.host}/32`,
    port, spool: spoolA };
  const optsB = { url: server.url, key: keyB, cidr: `${shared.host}/32`, port, spool: sim.tmpSpool() };
  const watch = await w.connect(server, { token: T.adminToken });
  let a = sim.startAgent(optsA);
  const b = sim.startAgent(optsB);
  try {
    await h.waitFor(() => {
      const s = printerByAddr(db, T.branchId, shared.host);
      const o = printerByAddr(db, T.branchId, own.host);
      return s && o && s.status === 'online' && o.status === 'online' &&
        db.count('agents', 'hostname IS NOT NULL') === 2 &&
        Object.keys(db.one(`SELECT sources FROM printers WHERE id = '${s.id}'`).sources.agents).length === 2;
    }, { timeout: 15000, what: 'both printers online, the shared one seen by both agents' });
    const ownId = printerByAddr(db, T.branchId, own.host).id;
    const sharedId = printerByAddr(db, T.branchId, shared.host).id;
    const from = watch.msgs.length;

    // SIGKILL: no goodbye. Within agent_offline_after + 5 s the truth is out.
    const t0 = Date.now();
    await a.stop('SIGKILL');
    const ev = await watch.next((m) => m.event === 'printer:status' && m.data.printer.id === ownId,
      { timeout: (OFFLINE_AFTER + 5) * 1000, from });
    assert.ok(Date.now() - t0 < (OFFLINE_AFTER + 5) * 1000);
    assert.equal(ev.data.printer.status, 'unknown');
    assert.deepEqual(ev.data.printer.stateReasons, ['agent-offline']);
    let p = await api(server, T, `/api/v1/printing/printers/${ownId}`);
    assert.equal(p.status, 'unknown');
    assert.deepEqual(p.stateReasons, ['agent-offline']);
    p = await api(server, T, `/api/v1/printing/printers/${sharedId}`);
    assert.equal(p.status, 'online');
    assert.deepEqual(p.stateReasons, []);
    // agent:offline once (its websocket closing said it), never a second time.
    await w.sleep(1500);
    const offs = watch.msgs.slice(from).filter((m) => m.event === 'agent:offline');
    assert.equal(offs.length, 1);
    assert.equal(offs[0].data.agentId, idA);
    assert.equal(watch.msgs.slice(from).filter((m) => m.event === 'printer:status').length, 1);
    const agents = (await api(server, T, '/api/v1/printing/agents')).agents;
    const ra = agents.find((x) => x.id === idA);
    assert.equal(ra.online, false);
    assert.ok(ra.offlineSince, 'offlineSince set');
    assert.equal(agents.find((x) => x.id !== idA).offlineSince, null);
    assert.equal(db.one(`SELECT swept_at IS NOT NULL AS s FROM agents WHERE id = '${idA}'`).s, true);
    assert.match((await h.api(server, 'GET', '/metrics')).text, /^printmaster_printers_agent_offline_total 1$/m);

    // Back: agent:online, then its report restores the printer's real status.
    const back = watch.msgs.length;
    a = sim.startAgent(optsA);
    const st = await watch.next((m) => m.event === 'printer:status' && m.data.printer.id === ownId,
      { timeout: 15000, from: back });
    assert.equal(st.data.printer.status, 'online');
    assert.deepEqual(st.data.printer.stateReasons, []);
    const on = await watch.next((m) => m.event === 'agent:online' && m.data.agentId === idA, { from: back });
    const ids = watch.events().map((m) => m.id);
    assert.deepEqual(ids, [...ids].sort((x, y) => x - y), 'events arrive in id order');
    assert.ok(on.id > ev.id && st.id > ev.id);
    p = await api(server, T, `/api/v1/printing/printers/${ownId}`);
    assert.equal(p.status, 'online');
    assert.equal(db.one(`SELECT offline_at IS NULL AND swept_at IS NULL AS ok FROM agents WHERE id = '${idA}'`).ok, true);
  } finally {
    await a.stop();
    await b.stop();
    await watch.close();
    await shared.close();
    await own.close();
    await server.stop();
  }
});

// An agent that only posts (no websocket): its lease is its bulk requests.
async function post(server, key, printers, idem) {
  const headers = { Authorization: `Bearer ${key}` };
  if (idem) headers['Idempotency-Key'] = idem;
  const r = await h.api(server, 'POST', '/api/v1/printing/printers/bulk',
    { headers, body: { printers, duplicateHandling: 'update' } });
  assert.equal(r.status, 200, r.text);
  return r.json;
}

test('two server instances: one sweeper, one event per change; an HTTP-only agent goes ' +
     'offline and comes back by the sweeper; old sync_batches are pruned', async () => {
  const db = await h.createDatabase();
  // One session key for both, as behind a load balancer.
  const env = { PRINTMASTER_AGENT_OFFLINE_AFTER: String(OFFLINE_AFTER), PRINTMASTER_BATCH_RETENTION: '1',
    PRINTMASTER_SESSION_SECRET: crypto.randomBytes(32).toString('base64') };
  const sA = await h.startServer({ db, env });
  const sB = await h.startServer({ db, env });
  const T = await k.tenant(db, sA, { company: 'Two Co', branches: ['Main'] });
  const idA = db.one("SELECT id FROM agents WHERE name = 'agent-0'").id;
  let onA, onB;
  try {
    onA = await w.connect(sA, { token: T.adminToken });
    onB = await w.connect(sB, { token: T.adminToken });
    // An old batch (past batch_retention, 1 h) and a fresh one.
    db.exec(`INSERT INTO sync_batches (company_id, branch_id, agent_id, idempotency_key, total, created_at)
             VALUES ('${T.companyId}', '${T.branchId}', NULL, 'old-one', 1, now() - interval '2 hours')`);
    const r = await post(sA, T.agentKeys[0], [{ name: 'Till printer', address: '10.9.8.7', port: 9100,
      connectionType: 'network', protocol: 'raw', status: 'online' }], 'fresh-one');
    const pid = r.results[0].id;
    const leaders = () => [sA, sB].map(async (s) =>
      /^printmaster_sweeper_leader 1$/m.test((await h.api(s, 'GET', '/metrics')).text));
    assert.deepEqual((await Promise.all(leaders())).filter(Boolean).length, 1);

    // Silent: one agent:offline and one printer:status, delivered by both instances.
    const off = await onB.next((m) => m.event === 'agent:offline', { timeout: (OFFLINE_AFTER + 5) * 1000 });
    assert.equal(off.data.agentId, idA);
    const st = await onB.next((m) => m.event === 'printer:status');
    assert.equal(st.data.printer.id, pid);
    assert.equal(st.data.printer.status, 'unknown');
    await onA.next((m) => m.id === st.id);
    await w.sleep(2500);
    assert.equal(db.count('printer_events', "type = 'agent:offline'"), 1);
    assert.equal(db.count('printer_events', "type = 'printer:status'"), 1);
    assert.equal(onA.events().filter((m) => m.event === 'agent:offline').length, 1);

    // Heard from again over HTTP: agent:online (by the sweeper), the report
    // itself restores the printer.
    const again = await post(sB, T.agentKeys[0], [{ name: 'Till printer', address: '10.9.8.7', port: 9100,
      connectionType: 'network', protocol: 'raw', status: 'online' }], 'again');
    assert.equal(again.results[0].status, 'updated');
    const on = await onA.next((m) => m.event === 'agent:online', { timeout: 5000 });
    assert.equal(on.data.agentId, idA);
    const back = await onA.next((m) => m.event === 'printer:status' && m.data.printer.status === 'online');
    assert.ok(back.id < on.id, 'the report came first, then the sweeper saw the contact');
    await w.sleep(1500);
    assert.equal(db.count('printer_events', "type = 'agent:online'"), 1);

    // The prune: first round 10 s after an instance starts sweeping.
    await h.waitFor(() => db.count('sync_batches', "idempotency_key = 'old-one'") === 0,
      { timeout: 20000, what: 'old sync batch pruned' });
    assert.equal(db.count('sync_batches', "idempotency_key = 'fresh-one'"), 1);
    const mt = (await h.api(sA, 'GET', '/metrics')).text + (await h.api(sB, 'GET', '/metrics')).text;
    assert.match(mt, /^printmaster_sync_batches_pruned_total 1$/m);

    // The sweeping instance stops: the other takes over.
    const leaderIsA = /^printmaster_sweeper_leader 1$/m.test((await h.api(sA, 'GET', '/metrics')).text);
    const [gone, stays] = leaderIsA ? [sA, sB] : [sB, sA];
    await gone.stop();
    await h.waitFor(async () => /^printmaster_sweeper_leader 1$/m.test((await h.api(stays, 'GET', '/metrics')).text),
      { timeout: 5000, what: 'the other instance sweeping' });
  } finally {
    for (const c of [onA, onB]) if (c) await c.close();
    for (const s of [sA, sB]) if (!s.exited()) await s.stop();
  }
});
