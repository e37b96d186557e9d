// pgstats.js: what PostgreSQL's cumulative statistics say a test's requests
// did, for assertions on work (index entries read), never on time.
'use strict';

// A backend reports what it read when a transaction ends a second or more
// after its last report, else after 10 s idle (PostgreSQL 15's
// PGSTAT_MIN_INTERVAL and PGSTAT_IDLE_INTERVAL): a connection of the server
// may hold counts for that long.
const IDLE_REPORT_MS = 10500;

// Index entries read so far per index of `table`, once every backend has
// reported what it read before this call.
async function indexEntriesRead(db, table) {
  await new Promise((r) => setTimeout(r, IDLE_REPORT_MS));
  return Object.fromEntries(db.query(
    `SELECT indexrelname AS i, idx_tup_read AS n FROM pg_stat_user_indexes WHERE relname = '${table}'`)
    .map((r) => [r.i, Number(r.n)]));
}

module.exports = { indexEntriesRead };
