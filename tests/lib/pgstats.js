// pgstats.js: what PostgreSQL's cumulative statistics say a test's requests
// did, for assertions on work (index entries read), never on time.
'use strict';

// Index entries read so far per index of `table`, once the server's backends
// have reported (their statistics reach the shared counters within a second or
// so of going idle): polled until two reads 1.2 s apart agree (bounded).
async function indexEntriesRead(db, table) {
  const read = () => Object.fromEntries(db.query(
    `SELECT indexrelname AS i, idx_tup_read AS n FROM pg_stat_user_indexes WHERE relname = '${table}'`)
    .map((r) => [r.i, Number(r.n)]));
  let last = read();
  for (let i = 0; i < 10; i++) {
    await new Promise((r) => setTimeout(r, 1200));
    const now = read();
    if (JSON.stringify(now) === JSON.stringify(last)) return now;
    last = now;
  }
  return last;
}

module.exports = { indexEntriesRead };
