// agent_auth.test.js: the agent's key is revoked while printers change; the
// changes wait in the spool (401 is a credential problem, not a bad batch:
// nothing goes to rejected.jsonl), the agent retries with its backoff and
// logs the state once with [AUTH]; a new key, by SIGHUP after the config file
// changed or by a restart, gets every change to the server, followed by the
// agent's full current state.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const h = require('../lib/harness');
const sim = require('./sync_helpers');

let db, server;

test.before(async () => {
  db = await h.createDatabase();
  server = await h.startServer({ db });
});
test.after(async () => { await server.stop(); });

function rows(branchId) {
  return db.query(`SELECT address, status, sources FROM printers
                    WHERE branch_id = '${branchId}' ORDER BY address`);
}

function agentId(branchId, name) {
  return db.one(`SELECT id FROM agents WHERE branch_id = '${branchId}' AND name = '${name}'`).id;
}

function revoke(id) {
  execFileSync(path.join(h.BIN, 'printmaster-server'), ['admin', 'agent', 'revoke', id],
    { env: { ...process.env, DATABASE_URL: db.url }, stdio: ['ignore', 'pipe', 'pipe'] });
}

function sighting(row, id) {
  return row && row.sources && row.sources.agents && row.sources.agents[id] &&
    row.sources.agents[id].status;
}

function queueSize(spool) {
  return JSON.parse(fs.readFileSync(path.join(spool, 'state.json'), 'utf8')).stats.queueSize;
}

// A tenant, a first key, printers .1-.3; the agent has synced them.
async function scene(company, start) {
  const t = h.seedTenant(db, { company, branches: ['Main'] });
  const key1 = sim.agentKey(db, t.branchId, 'till');
  const net = sim.subnet();
  const port = await h.freePort();
  const ps = [];
  for (let i = 1; i <= 3; i++) ps.push(await sim.printer(`${net.base}.${i}`, port));
  const spool = sim.tmpSpool();
  const a = start({ key1, net, port, spool });
  await h.waitFor(() => rows(t.branchId).length === 3, { what: 'first printers' });
  await h.waitFor(() => fs.existsSync(path.join(spool, 'state.json')) && queueSize(spool) === 0,
    { what: 'first sync done' });
  return { t, key1, net, port, ps, spool, a, id1: agentId(t.branchId, 'till') };
}

// Revoke, then change the printers: .3 goes away (offline after 2 missed
// scans), .4 appears. Wait until the agent has queued both and been refused.
async function revokeAndChange(sc) {
  const mark = sc.a.log().length;
  revoke(sc.id1);
  await sc.ps[2].close();
  sc.ps.push(await sim.printer(`${sc.net.base}.4`, sc.port));
  const since = () => sc.a.log().slice(mark);
  await h.waitFor(() => /scan: \d+ found, 1 new/.test(since()) && /, 1 lost;/.test(since()),
    { what: 'the new and the lost printer queued' });
  await h.waitFor(() => (since().match(/\[AUTH\] credential refused; next try in \d+ ms/g) || []).length >= 3,
    { what: 'three refused rounds' });
  return since;
}

// Nothing of the changes reached the server while the key was refused.
function assertNothingMeanwhile(sc) {
  const r = rows(sc.t.branchId);
  assert.equal(r.length, 3);
  assert.ok(r.every((x) => x.status === 'online'));
}

// After the new key: .4 is new; .3 is reported offline by the new agent; the
// full state gives the new agent a sighting of every printer it sees.
async function waitAllArrived(sc, id2) {
  await h.waitFor(() => {
    const r = rows(sc.t.branchId);
    return r.length === 4 && sighting(r[0], id2) === 'online' && sighting(r[1], id2) === 'online' &&
      sighting(r[2], id2) === 'offline' && sighting(r[3], id2) === 'online';
  }, { timeout: 15000, what: 'every change from the new agent' });
  await h.waitFor(() => queueSize(sc.spool) === 0, { what: 'queue drained' });
  const r = rows(sc.t.branchId);
  assert.equal(r[3].address, `${sc.net.base}.4`);
  assert.equal(r[3].status, 'online');
  assert.ok(!fs.existsSync(path.join(sc.spool, 'rejected.jsonl')), 'nothing in rejected.jsonl');
  assert.equal(db.count('printer_events', `branch_id = '${sc.t.branchId}' AND type = 'printer:discovered'`), 4);
}

test('key revoked, printers change, a new key by SIGHUP: every change reaches the server, ' +
     'nothing is set aside', async () => {
  let conf;
  const sc = await scene('Auth Hup', ({ key1, net, port, spool }) => {
    // The key comes from the file only, so SIGHUP can change it.
    conf = path.join(path.dirname(spool), 'agent.conf');
    fs.writeFileSync(conf, `agent_key = ${key1}\n`, { mode: 0o600 });
    return sim.startAgent({ url: server.url, key: undefined, cidr: net.cidr, port, spool,
      extra: { PRINTMASTER_CONFIG: conf } });
  });
  try {
    const since = await revokeAndChange(sc);
    assertNothingMeanwhile(sc);
    // The refusal is logged once (not per round), the batch stays spooled,
    // and the backoff stays under max_retry_delay_ms (400 here).
    assert.equal((since().match(/\[AUTH\] the server refuses the agent key \(HTTP 401/g) || []).length, 1);
    const delays = [...since().matchAll(/next try in (\d+) ms/g)].map((m) => Number(m[1]));
    assert.ok(delays.every((d) => d <= 400), `delays ${delays}`);
    assert.doesNotMatch(since(), /refused as a whole|set aside/);
    assert.doesNotMatch(since(), /\[FALLBACK\] websocket down[^\n]*refused/);
    assert.ok(queueSize(sc.spool) >= 2, 'the changes wait in the spool');

    const key2 = sim.agentKey(db, sc.t.branchId, 'till 2');
    const id2 = agentId(sc.t.branchId, 'till 2');
    fs.writeFileSync(conf, `agent_key = ${key2}\n`);
    sc.a.proc.kill('SIGHUP');
    await waitAllArrived(sc, id2);
    const log = sc.a.log();
    assert.match(log, /\[AUTH\] SIGHUP: configuration read again; agent_key changed, in use from now on/);
    assert.match(log, /\[AUTH\] the server accepts the agent key again/);
    assert.match(log, /\[AUTH\] full state queued after the credential problem: 3 printers/);
    // The websocket came back with the new key: presence of the new agent.
    await h.waitFor(() => db.one(`SELECT hostname FROM agents WHERE id = '${id2}'`).hostname,
      { what: 'the new agent\'s hello over the websocket' });
    assert.ok(!log.includes(sc.key1) && !log.includes(key2), 'no key in the log');
  } finally {
    assert.equal((await sc.a.stop()).code, 0);
    for (const p of sc.ps) await p.close().catch(() => {});
  }
});

test('key revoked, printers change, the agent restarted with a new key: every change and the ' +
     'full state reach the server', async () => {
  const sc = await scene('Auth Restart', ({ key1, net, port, spool }) =>
    sim.startAgent({ url: server.url, key: key1, cidr: net.cidr, port, spool }));
  const base = { url: server.url, cidr: sc.net.cidr, port: sc.port, spool: sc.spool };
  let a = sc.a;
  try {
    await revokeAndChange(sc);
    assertNothingMeanwhile(sc);
    assert.equal((await a.stop()).code, 0);
    const st = await sim.runAgent(['status'], { ...base, key: sc.key1 });
    assert.match(st.stdout, /rejected batches\s+0\n/);

    const key2 = sim.agentKey(db, sc.t.branchId, 'till 2');
    const id2 = agentId(sc.t.branchId, 'till 2');
    const mark = a.log().length;
    a = sim.startAgent({ ...base, key: key2 });
    sc.a = a;
    await waitAllArrived(sc, id2);
    // The owed full resend was kept in the journal across the restart.
    assert.match(a.log().slice(mark), /\[AUTH\] full state queued after the credential problem: 3 printers/);
  } finally {
    assert.equal((await a.stop()).code, 0);
    for (const p of sc.ps) await p.close().catch(() => {});
  }
});

// A revoked agent's sightings are dropped with it (store_agents.c), so its
// last "online" does not outvote the agent that reports now.
test('the row of a printer lost while the key was revoked turns offline', async () => {
  const sc = await scene('Auth Row', ({ key1, net, port, spool }) =>
    sim.startAgent({ url: server.url, key: key1, cidr: net.cidr, port, spool }));
  const base = { url: server.url, cidr: sc.net.cidr, port: sc.port, spool: sc.spool };
  let a = sc.a;
  try {
    await revokeAndChange(sc);
    await a.stop();
    const key2 = sim.agentKey(db, sc.t.branchId, 'till 2');
    a = sim.startAgent({ ...base, key: key2 });
    sc.a = a;
    await waitAllArrived(sc, agentId(sc.t.branchId, 'till 2'));
    assert.equal(rows(sc.t.branchId)[2].status, 'offline');
  } finally {
    await a.stop();
    for (const p of sc.ps) await p.close().catch(() => {});
  }
});
