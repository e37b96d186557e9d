// listener_quiet.test.js: the event listener reads a company's new events by
// that company's range of the (company_id, id) index, however many events
// other companies wrote since its last one (issue 10: the cost follows the
// request). A quiet company's cursor is old; written as
// `company_id = $co AND id > cursor`, the listener's generic plan (two
// companies, one far busier) walked the primary key from there and filtered by
// company, reading every other company's events. The test counts the index
// entries PostgreSQL read (pg_stat_user_indexes), not time.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const h = require('../lib/harness');
const ak = require('../lib/authkit');
const { indexEntriesRead } = require('../lib/pgstats');

let db, s, quiet, busy;

test.before(async () => {
  db = await h.createDatabase();
  s = await h.startServer({ db, env: { PRINTMASTER_LOG_LEVEL: 'warn' } });
  quiet = await ak.tenant(db, s, { company: 'Quiet Cafe', branches: ['Q1'] });
  busy = await ak.tenant(db, s, { company: 'Busy Chain', branches: ['B1'] });
});
test.after(async () => { await s.stop(); });

const printer = (i, status = 'online') => ({ name: `P ${i}`, address: `10.30.${i >> 8}.${i & 255}`,
  port: 9100, connectionType: 'network', protocol: 'raw', status, sources: ['netscan'] });
const bulk = (t, list) => h.api(s, 'POST', '/api/v1/printing/printers/bulk',
  { headers: t.agent(0), body: { printers: list } });

const eventsRead = () => h.metric(s, 'printmaster_listener_events_total');
// Until the listener has read `want` events in all (bounded).
const listenerRead = (want) => h.waitFor(async () => await eventsRead() >= want,
  { what: `the listener to read ${want} events` });

test("a quiet company's next event is read without reading the other companies' events since its last", async () => {
  assert.equal((await bulk(quiet, [printer(1)])).status, 200);
  assert.equal((await bulk(busy, [printer(1)])).status, 200);
  await listenerRead(Number(db.one('SELECT count(*) AS n FROM printer_events').n));
  // The busy company's events since: written here without a notice, so the
  // listener has no reason to read them (the count read is then only the
  // quiet company's); then the statistics autovacuum would gather.
  db.exec(`INSERT INTO printer_events (company_id, branch_id, type, payload)
    SELECT '${busy.companyId}', '${busy.branchId}', 'printer:sync:batch-completed', '{}'
    FROM generate_series(1, 3000);
    ANALYZE printer_events`);
  const mineOf = () => Number(db.one(
    `SELECT count(*) AS n FROM printer_events WHERE company_id = '${quiet.companyId}'`).n);
  const seen = await eventsRead();
  const mine0 = mineOf();
  const before = await indexEntriesRead(db, 'printer_events');
  const r = await bulk(quiet, [printer(1, 'offline')]);
  assert.equal(r.status, 200);
  assert.equal(r.json.summary.updated, 1);
  await listenerRead(seen + mineOf() - mine0);
  const after = await indexEntriesRead(db, 'printer_events');
  const read = Object.keys(after).reduce((n, ix) => n + after[ix] - (before[ix] || 0), 0);
  assert.ok(read <= 50, `${read} printer_events index entries read for the quiet company's events`);
});

