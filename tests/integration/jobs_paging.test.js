// jobs_paging.test.js: the job list pages by a range of the (company_id, id)
// index: a page after a cursor reads from the cursor on, not every job before
// it (issue 10: the cost follows the request). Counted as the index entries
// PostgreSQL read (pg_stat_user_indexes), not as time.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const h = require('../lib/harness');
const k = require('../lib/authkit');
const { indexEntriesRead } = require('../lib/pgstats');

let db, server;

test.before(async () => {
  db = await h.createDatabase();
  server = await h.startServer({ db, env: { PRINTMASTER_LOG_LEVEL: 'warn' } });
});
test.after(async () => { await server.stop(); });

test('a page far down the job list reads about a page of index entries', async () => {
  const t = await k.tenant(db, server, { company: 'Jobs Many' });
  const pid = k.addPrinter(db, t.companyId, t.branchId, 'Label');
  db.exec(`INSERT INTO print_jobs (company_id, branch_id, printer_id, title, content_type,
      content, copies, state, expires_at, finished_at)
    SELECT '${t.companyId}', '${t.branchId}', '${pid}', 'old ' || g, 'raw', '\\x00', 1,
      'printed', now(), now() FROM generate_series(1, 3000) g;
    ANALYZE print_jobs`);
  const ids = db.query(`SELECT id FROM print_jobs WHERE company_id = '${t.companyId}' ORDER BY id`)
    .map((r) => r.id);
  // Every connection of the server plans the list again after ANALYZE.
  for (let i = 0; i < 20; i++) {
    assert.equal((await h.api(server, 'GET', '/api/v1/printing/jobs?limit=1', { headers: t.admin })).status, 200);
  }
  const before = await indexEntriesRead(db, 'print_jobs');
  const l = await h.api(server, 'GET', `/api/v1/printing/jobs?limit=50&after=${ids[2900]}`, { headers: t.admin });
  assert.equal(l.status, 200);
  assert.deepEqual(l.json.jobs.map((j) => j.id), ids.slice(2901, 2951));
  const after = await indexEntriesRead(db, 'print_jobs');
  const read = Object.keys(after).reduce((n, ix) => n + after[ix] - (before[ix] || 0), 0);
  assert.ok(read <= 200, `${read} print_jobs index entries read for a page of 50`);
});
