// bulk_edge.test.js: bulk sync on hostile and edge-case input found in review
// and by fuzzing: long multi-byte names, identity collisions, and limits.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const h = require('../lib/harness');
const ak = require('../lib/authkit');

let db, s, t;

test.before(async () => {
  db = await h.createDatabase();
  s = await h.startServer({ db });
  t = await ak.tenant(db, s, { company: 'Edge Co', branches: ['One'] });
});
test.after(async () => { await s.stop(); });

async function bulk(printers, { branchId = t.branchId, mode, headers = {} } = {}) {
  const body = { branchId, printers };
  if (mode) body.duplicateHandling = mode;
  return h.api(s, 'POST', '/api/v1/printing/printers/bulk', { body, headers: { ...t.admin, ...headers } });
}

test('two long names that share their first 255 bytes are two printers with two keys', async () => {
  // 150 two-byte characters (300 bytes) then a distinguishing letter: the name
  // key used to be cut at 255 bytes, giving both the same deviceKey (and one
  // cut inside a character, an invalid key).
  const stem = 'é'.repeat(150);
  const r = await bulk([{ name: `${stem} A` }, { name: `${stem} B` }]);
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json.results.map((x) => x.status), ['new', 'new']);
  assert.equal(r.json.results[0].deviceKey, `name:${stem} a`);
  assert.equal(r.json.results[1].deviceKey, `name:${stem} b`);
  assert.equal(db.count('printers', `branch_id = '${t.branchId}'`), 2);
  // Sent again, each is found again by its own key.
  const again = await bulk([{ name: `${stem} B` }, { name: `${stem} A` }]);
  assert.deepEqual(again.json.results.map((x) => x.status), ['unchanged', 'unchanged']);
  assert.equal(again.json.results[0].id, r.json.results[1].id);
});
