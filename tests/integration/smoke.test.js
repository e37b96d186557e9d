// smoke.test.js: the server starts, migrates, and answers its public endpoints.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const h = require('../lib/harness');

test('server starts and answers health, readiness, liveness and metrics', async () => {
  const db = await h.createDatabase();
  const s = await h.startServer({ db });
  try {
    let r = await h.api(s, 'GET', '/healthz');
    assert.equal(r.status, 200);
    assert.deepEqual(r.json, { status: 'ok' });
    r = await h.api(s, 'GET', '/readyz');
    assert.equal(r.status, 200);
    r = await h.api(s, 'GET', '/api/v1/printing/test-public');
    assert.equal(r.status, 200);
    assert.equal(r.json.success, true);
    r = await h.api(s, 'GET', '/metrics');
    assert.equal(r.status, 200);
    assert.match(r.text, /printmaster_http_requests_total\{method="GET",route="\/readyz",status="200"\} 1/);
    r = await h.api(s, 'GET', '/nope');
    assert.equal(r.status, 404);
    assert.equal(r.json.error.code, 'not_found');
    assert.equal(db.count('schema_migrations') >= 1, true);
  } finally {
    assert.equal((await s.stop()).code, 0);
  }
});
