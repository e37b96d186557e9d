// events_replay_branch.test.js: a branch room's replay (`since`) reads that
// branch's events, not its whole company's (issue 10: the cost follows the
// request). A branch's staff reconnecting after a night away asked for their
// branch's few events since; the replay filtered every event of the company
// since then. Counted as index entries PostgreSQL read (pg_stat_user_indexes),
// not as time; the replay must still be exact.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const h = require('../lib/harness');
const w = require('../lib/wskit');
const { indexEntriesRead } = require('../lib/pgstats');

let db, s, T;

test.before(async () => {
  db = await h.createDatabase();
  s = await h.startServer({ db, env: { PRINTMASTER_LOG_LEVEL: 'warn' } });
  T = await w.tenants(db, s);
});
test.after(async () => { await s.stop(); });

const connect = (opts) => w.connect(s, opts);

test("a branch room's replay reads its own branch's events since, not the company's", async () => {
  let viewer = await connect({ token: T.tok.viewerA1 });
  await w.rename(s, T.tok.adminA, T.printers.a1, 'Seen live');
  const seen = await viewer.next((m) => m.type === 'event');
  await viewer.close();
  // The other branch's busy night, and other companies' events as a shared
  // database holds them (40 companies): written without a notice (nothing is
  // delivered live), then the statistics autovacuum would gather.
  db.exec(`INSERT INTO printer_events (company_id, branch_id, type, payload)
    SELECT '${T.A.companyId}', '${T.a2}', 'printer:sync:batch-completed', '{}'
    FROM generate_series(1, 3000);
    INSERT INTO printer_events (company_id, branch_id, type, payload)
    SELECT ('00000000-0000-4000-8000-' || lpad(to_hex(g % 40), 12, '0'))::uuid,
      ('00000000-0000-4000-9000-' || lpad(to_hex(g % 40), 12, '0'))::uuid,
      'printer:sync:batch-completed', '{}'
    FROM generate_series(1, 4000) g;
    ANALYZE printer_events`);
  await w.rename(s, T.tok.adminA, T.printers.a1, 'Missed');
  // Every connection of the server plans its statements again after ANALYZE.
  for (let i = 0; i < 3; i++) {
    const v = await connect({ token: T.tok.viewerA1, held: true });
    v.send({ type: 'subscribe', rooms: [`branch:${T.a1}`], since: seen.id });
    await v.next((m) => m.type === 'event' && m.data.printer.displayName === 'Missed');
    await v.close();
  }
  const before = await indexEntriesRead(db, 'printer_events');
  viewer = await connect({ token: T.tok.viewerA1, held: true });
  viewer.send({ type: 'subscribe', rooms: [`branch:${T.a1}`], since: seen.id });
  await viewer.next((m) => m.type === 'event' && m.data.printer.displayName === 'Missed');
  await w.sleep(300);
  assert.deepEqual(viewer.events().map((e) => e.data.printer.displayName), ['Missed']);
  await viewer.close();
  const after = await indexEntriesRead(db, 'printer_events');
  const read = Object.keys(after).reduce((n, ix) => n + after[ix] - (before[ix] || 0), 0);
  assert.ok(read <= 100, `${read} printer_events index entries read for one branch's replay`);
});
