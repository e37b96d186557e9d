// db_errors.test.js: a statement that fails on a healthy connection is a 500
// (retrying cannot help), while an unreachable database stays 503 "nothing was
// changed, retry" (db_outage.test.js). The schema is broken on purpose here by
// renaming a table in this test's own database.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const h = require('../lib/harness');
const ak = require('../lib/authkit');

let db, s, t;

test.before(async () => {
  db = await h.createDatabase();
  s = await h.startServer({ db });
  t = await ak.tenant(db, s, { company: 'Err Co', branches: ['One'] });
});
test.after(async () => { await s.stop(); });

test('a deterministic SQL failure is 500 internal, not 503; the server recovers', async () => {
  let r = await h.api(s, 'POST', '/api/v1/printing/printers/bulk',
    { body: { branchId: t.branchId, printers: [{ name: 'E1' }] }, headers: t.admin });
  assert.equal(r.status, 200, r.text);
  const id = r.json.results[0].id;
  db.exec('ALTER TABLE printers RENAME TO printers_moved');
  try {
    const calls = [
      ['GET', '/api/v1/printing/printers', undefined],
      ['GET', `/api/v1/printing/printers/${id}`, undefined],
      ['PATCH', `/api/v1/printing/printers/${id}`, { displayName: 'x' }],
      ['DELETE', `/api/v1/printing/printers/${id}`, undefined],
      ['POST', '/api/v1/printing/printers/bulk', { branchId: t.branchId, printers: [{ name: 'E2' }] }],
    ];
    for (const [method, path, body] of calls) {
      r = await h.api(s, method, path, { body, headers: t.admin });
      assert.equal(r.status, 500, `${method} ${path}: ${r.text}`);
      assert.equal(r.json.error.code, 'internal');
      assert.equal(r.headers.get('retry-after'), null);
    }
  } finally {
    db.exec('ALTER TABLE printers_moved RENAME TO printers');
  }
  r = await h.api(s, 'GET', `/api/v1/printing/printers/${id}`, { headers: t.admin });
  assert.equal(r.status, 200, r.text);
  assert.equal(db.count('printers'), 1);
});

test('the agents API answers a deterministic SQL failure with 500 too', async () => {
  const br = t.branchId;
  let r = await h.api(s, 'POST', '/api/v1/printing/printers/bulk',
    { body: { branchId: br, printers: [{ name: 'A1' }] }, headers: t.admin });
  assert.equal(r.status, 200, r.text);
  const printer = r.json.results[0].id;
  const agent = db.one(`SELECT id FROM agents WHERE branch_id = '${br}'`).id;
  db.exec('ALTER TABLE agents RENAME TO agents_moved');
  try {
    const calls = [
      ['GET', '/api/v1/printing/agents', undefined],
      ['GET', '/api/v1/printing/sync/stats', undefined],
      ['POST', `/api/v1/printing/agents/${agent}/scan`, undefined],
      ['POST', '/api/v1/printing/scan', { branchId: br }],
      ['POST', `/api/v1/printing/printers/${printer}/test-print`, undefined],
    ];
    for (const [method, path, body] of calls) {
      r = await h.api(s, method, path, { body, headers: t.admin });
      assert.equal(r.status, 500, `${method} ${path}: ${r.text}`);
      assert.equal(r.json.error.code, 'internal');
      assert.equal(r.headers.get('retry-after'), null);
    }
  } finally {
    db.exec('ALTER TABLE agents_moved RENAME TO agents');
  }
  r = await h.api(s, 'GET', '/api/v1/printing/agents', { headers: t.admin });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.agents.length, 1);
});
