// tenants_wait.test.js: one tenant's stuck bulk write must not hold up another
// tenant's (issue 10: no lock, row or sequence every tenant's write waits on).
// A psql session in an open transaction holds something company A's bulk needs,
// so A's bulk waits; company B's bulk must still be answered while A's is
// pending; then psql rolls back and A's bulk completes. Two places to hold A:
// early (a row lock on A's printers, which A's bulk must update) and late (an
// uncommitted sync_batches row with the Idempotency-Key A's agent sends, so A
// has written its printers and events and waits to record its batch). The test
// asserts the order of answers, not a time budget (that is `make bench`'s job).
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const h = require('../lib/harness');
const ak = require('../lib/authkit');

let db, s, A, B;

test.before(async () => {
  db = await h.createDatabase();
  s = await h.startServer({ db });
  A = await ak.tenant(db, s, { company: 'Alpha Stuck', branches: ['A1'] });
  B = await ak.tenant(db, s, { company: 'Beta Free', branches: ['B1'] });
});
test.after(async () => { await s.stop(); });

const printers = (prefix, n, model) => Array.from({ length: n }, (_, i) => ({
  name: `${prefix} ${i}`, address: `10.9.0.${i + 1}`, port: 9100, connectionType: 'network',
  protocol: 'raw', model, sources: ['netscan'] }));

// The branch's agent sends the batch, as in production.
const bulk = (t, list) => h.api(s, 'POST', '/api/v1/printing/printers/bulk',
  { headers: t.agent(0), body: { printers: list } });

// A psql session of its own. run(sql) sends statements followed by an \echo
// marker and resolves with their output once psql has executed them, so the
// caller knows a lock is held, not merely requested.
function psqlSession() {
  const c = db.cluster;
  const p = spawn('psql', ['-X', '-q', '-At', '-v', 'ON_ERROR_STOP=1', '-h', c.host,
    '-p', String(c.port), '-U', 'postgres', '-d', db.name], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  let exited = null;
  const waiters = [];
  const wake = () => { for (const w of waiters.splice(0)) w(); };
  p.stdout.on('data', (d) => { out += d; wake(); });
  p.stderr.on('data', (d) => { err += d; });
  p.on('exit', (code) => { exited = { code }; wake(); });
  let seq = 0;
  return {
    run(sqlText) {
      const marker = `--done-${++seq}--`;
      const from = out.length;
      p.stdin.write(`${sqlText}\n\\echo ${marker}\n`);
      return new Promise((resolve, reject) => {
        const check = () => {
          const i = out.indexOf(marker, from);
          if (i >= 0) { resolve(out.slice(from, i)); return; }
          if (exited) { reject(new Error(`psql exited ${exited.code}: ${err}`)); return; }
          waiters.push(check);
        };
        check();
      });
    },
    async close() {
      if (exited) return;
      p.stdin.end();
      await h.waitFor(() => exited, { what: 'psql exit' });
    },
  };
}

// The backends of this database that wait for a heavyweight lock, and on what.
const lockWaiters = () => db.query(`SELECT wait_event, left(query, 60) AS query
  FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`);

// A's bulk is held by `hold` (statements psql runs in an open transaction);
// B's bulk must be answered while A's waits; after the release A's completes.
async function aHeldBAnswered({ hold, aHeaders = {}, model }) {
  let aDone = false;
  let bDone = false;
  let aResult;
  const lock = psqlSession();
  try {
    await lock.run('BEGIN;');
    await lock.run(hold);

    const aPending = h.api(s, 'POST', '/api/v1/printing/printers/bulk', {
      headers: { ...A.agent(0), ...aHeaders }, body: { printers: printers('Alpha', 5, model) } })
      .then((x) => { aDone = true; aResult = x; return x; });
    aPending.catch(() => {});
    await h.waitFor(() => lockWaiters().length >= 1 || aDone, { timeout: 10000,
      what: "A's bulk to wait for psql's lock" });
    assert.equal(aDone, false, `A's bulk waits for psql (it was answered ${aResult && aResult.status})`);

    // B's bulk, while A's is stuck. Bounded so that a server that makes B wait
    // for A fails here instead of hanging until psql lets go.
    const bPending = bulk(B, printers('Beta', 5, model)).then((x) => { bDone = true; return x; });
    const bResult = await Promise.race([bPending,
      new Promise((resolve) => setTimeout(resolve, 5000, null))]);
    const waiting = lockWaiters().map((w) => `${w.wait_event}: ${w.query}`).join('; ');
    assert.ok(bResult, "B's bulk must be answered while A's waits; it was not within 5 s. " +
      `Backends waiting for a lock: ${waiting}`);
    assert.equal(bResult.status, 200);
    assert.equal(bResult.json.summary.updated, 5);
    assert.equal(aDone, false, "A's bulk is still waiting when B's is answered");
  } finally {
    await lock.run('ROLLBACK;').catch(() => {});
    await lock.close();
  }
  const r = await h.waitFor(() => aDone && aResult, { timeout: 15000,
    what: "A's bulk after the release" });
  assert.equal(r.status, 200);
  assert.equal(r.json.summary.updated, 5);
  assert.equal(db.count('printers', `branch_id = '${A.branchId}' AND model = '${model}'`), 5);
  await h.waitFor(() => bDone, { timeout: 15000, what: "B's bulk" });
}

test('both companies have printers', async () => {
  // A has printers; its next reports change them, so it must write those rows.
  let r = await bulk(A, printers('Alpha', 5, 'TM-T20'));
  assert.equal(r.status, 200);
  assert.equal(r.json.summary.new, 5);
  r = await bulk(B, printers('Beta', 5, 'TM-T20'));
  assert.equal(r.status, 200);
  assert.equal(r.json.summary.new, 5);
});

test("B's bulk is answered while A's waits for a lock psql holds on A's printers", async () => {
  await aHeldBAnswered({ model: 'TM-T88V',
    hold: `SELECT count(*) FROM (SELECT id FROM printers
      WHERE branch_id = '${A.branchId}' FOR UPDATE) AS locked;` });
});

// Here A's transaction gets further: its printers and events are written and
// it waits to record the batch, because psql has an uncommitted sync_batches
// row with the Idempotency-Key A's agent sends (a unique key). Whatever A has
// taken by then, B must not need.
test("B's bulk is answered while A's waits at the end of its transaction", async () => {
  const agentId = db.one(`SELECT id FROM agents WHERE branch_id = '${A.branchId}'`).id;
  await aHeldBAnswered({ model: 'TM-T88VI', aHeaders: { 'Idempotency-Key': 'held-by-psql' },
    hold: `INSERT INTO sync_batches (company_id, branch_id, agent_id, idempotency_key, total)
      VALUES ('${A.companyId}', '${A.branchId}', '${agentId}', 'held-by-psql', 0);` });
});

// Within one tenant: a print job being created for a printer (its foreign key
// holds the printer's key, FOR KEY SHARE, to its commit) must not hold up the
// agent's everyday report of that printer (seen again, unchanged), nor the
// other way round. The bulk locks the printers it matched as the sighting's
// UPDATE does (FOR NO KEY UPDATE), not FOR UPDATE, which waits for every key
// share. (A report that changes the printer still does: its UPDATE assigns
// the deviceKey, a column of a unique key.)
test("a print job being created for a printer does not hold up the agent's report of it", async () => {
  const printerId = db.one(`SELECT id FROM printers WHERE branch_id = '${A.branchId}'
    ORDER BY created_at LIMIT 1`).id;
  const job = psqlSession();
  try {
    await job.run('BEGIN;');
    await job.run(`INSERT INTO print_jobs (company_id, branch_id, printer_id, title, content_type,
      content, copies, expires_at) VALUES ('${A.companyId}', '${A.branchId}', '${printerId}', 'held',
      'raw', '\\x00', 1, now() + interval '1 hour');`);
    const pending = bulk(A, printers('Alpha', 5, 'TM-T88VI'));
    const r = await Promise.race([pending, new Promise((resolve) => setTimeout(resolve, 5000, null))]);
    const waiting = lockWaiters().map((w) => `${w.wait_event}: ${w.query}`).join('; ');
    assert.ok(r, `the report must be answered while the job's transaction is open; backends waiting: ${waiting}`);
    assert.equal(r.status, 200);
    assert.equal(r.json.summary.unchanged, 5);
  } finally {
    await job.run('ROLLBACK;').catch(() => {});
    await job.close();
  }
});
