// source_rules.test.js: rules of the source tree that a reviewer would check
// by hand. SQL lives only in server/store_*.c (DESIGN 7.1): the issue's own
// check, `grep -l 'SELECT\|INSERT\|UPDATE\|DELETE' server/*.c`, lists nothing
// else; and no server source file grows past ~700 lines.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');

const SERVER = path.resolve(__dirname, '..', '..', 'server');
const sources = fs.readdirSync(SERVER).filter((f) => f.endsWith('.c'));

test('SQL keywords appear only in server/store_*.c', () => {
  const withSql = sources.filter((f) => /SELECT|INSERT|UPDATE|DELETE/.test(
    fs.readFileSync(path.join(SERVER, f), 'utf8')));
  assert.ok(withSql.length > 0, 'the store files hold SQL');
  assert.deepEqual(withSql.filter((f) => !f.startsWith('store_')), []);
});

test('no server source file over 700 lines', () => {
  const long = sources.map((f) => [f, fs.readFileSync(path.join(SERVER, f), 'utf8').split('\n').length - 1])
    .filter(([, n]) => n > 700);
  assert.deepEqual(long, []);
});
