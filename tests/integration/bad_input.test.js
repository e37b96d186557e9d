// bad_input.test.js: malformed and hostile requests to the bulk endpoint. Each
// gets its documented status and a JSON error; none changes the database.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const net = require('node:net');
const h = require('../lib/harness');
const ak = require('../lib/authkit');

let db, s, t;
test.before(async () => {
  db = await h.createDatabase();
  s = await h.startServer({ db });
  t = await ak.tenant(db, s, { company: 'Bad Input Co', branches: ['Main'] });
  // A second company, so a foreign branch id exists.
  t.other = await ak.tenant(db, s, { company: 'Other Co', branches: ['Elsewhere'] });
});
test.after(async () => { await s.stop(); });

const PATH = '/api/v1/printing/printers/bulk';
const json = (o) => JSON.stringify(o);
const ok = (printers) => json({ companyId: t.companyId, branchId: t.branchId, printers });
const state = () => db.one(`SELECT (SELECT count(*) FROM printers) AS p,
  (SELECT count(*) FROM printer_events) AS e, (SELECT count(*) FROM sync_batches) AS b`);

// Raw HTTP over a socket, for bodies fetch() cannot send (bad bytes, lies about length).
function rawRequest(port, head, body) {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1');
    const chunks = [];
    sock.setTimeout(10000, () => { sock.destroy(); reject(new Error('raw request timed out')); });
    sock.on('data', (d) => chunks.push(d));
    sock.on('error', (e) => (chunks.length ? resolve(Buffer.concat(chunks).toString('latin1')) : reject(e)));
    sock.on('end', () => resolve(Buffer.concat(chunks).toString('latin1')));
    sock.write(head);
    if (body) sock.write(body);
  });
}

function nest(depth) {
  let v = '1';
  for (let i = 0; i < depth; i++) v = `[${v}]`;
  return v;
}

// [name, body (string or Buffer or fn), expected status, expected error code, headers]
const CASES = [
  ['truncated JSON', () => '{"printers":[{"name":"a"', 400, 'malformed_json'],
  ['empty body', () => '', 400, 'malformed_json'],
  ['body is an array', () => '[]', 400, 'malformed_json'],
  ['body is a string', () => '"printers"', 400, 'malformed_json'],
  ['body is null', () => 'null', 400, 'malformed_json'],
  ['printers missing', () => json({ companyId: t.companyId, branchId: t.branchId }), 400, 'bad_request'],
  ['printers is an object', () => json({ companyId: t.companyId, branchId: t.branchId, printers: {} }), 400, 'bad_request'],
  ['printers is null', () => json({ companyId: t.companyId, branchId: t.branchId, printers: null }), 400, 'bad_request'],
  ['printers is a string', () => json({ companyId: t.companyId, branchId: t.branchId, printers: 'all' }), 400, 'bad_request'],
  ['trailing garbage', () => ok([]) + ' xyz', 400, 'malformed_json'],
  ['duplicate keys', () => `{"printers":[],"printers":[]}`, 400, 'malformed_json'],
  ['invalid UTF-8', () => Buffer.concat([Buffer.from('{"companyId":"' + t.companyId + '","branchId":"' + t.branchId + '","printers":[{"name":"'), Buffer.from([0xc3, 0x28, 0xff]), Buffer.from('"}]}')]), 400, 'malformed_json'],
  ['raw NUL byte', () => Buffer.concat([Buffer.from('{"printers":[{"name":"a'), Buffer.from([0]), Buffer.from('b"}]}')]), 400, 'malformed_json'],
  ['escaped NUL in a name', () => ok([{ name: 'a\u0000b' }]), 400, 'malformed_json'],
  ['number out of range', () => `{"companyId":"${t.companyId}","branchId":"${t.branchId}","printers":[{"name":"a","port":1e400}]}`, 400, 'malformed_json'],
  ['deep nesting', () => `{"companyId":"${t.companyId}","branchId":"${t.branchId}","printers":[{"name":"a","capabilities":{"x":${nest(200)}}}]}`, 400, 'malformed_json'],
  ['deep nesting beyond jansson', () => nest(100000), 400, 'malformed_json'],
  ['text/plain content type', () => ok([{ name: 'a' }]), 415, 'unsupported_media_type', { 'Content-Type': 'text/plain' }],
  ['form content type', () => 'printers=a', 415, 'unsupported_media_type', { 'Content-Type': 'application/x-www-form-urlencoded' }],
  ['json lookalike content type', () => ok([{ name: 'a' }]), 415, 'unsupported_media_type', { 'Content-Type': 'application/jsonp' }],
  ['1001 printers', () => ok(Array.from({ length: 1001 }, (_, i) => ({ name: `p${i}` }))), 413, 'too_many_printers'],
  ['bad duplicateHandling', () => json({ companyId: t.companyId, branchId: t.branchId, printers: [{ name: 'a' }], duplicateHandling: 'overwrite' }), 422, 'validation_failed'],
  ['duplicateHandling wrong type', () => json({ companyId: t.companyId, branchId: t.branchId, printers: [{ name: 'a' }], duplicateHandling: 1 }), 422, 'validation_failed'],
  ['companyId not a UUID', () => json({ companyId: "1' OR '1'='1", branchId: t.branchId, printers: [{ name: 'a' }] }), 422, 'validation_failed'],
  ['companyId a number', () => json({ companyId: 7, branchId: t.branchId, printers: [{ name: 'a' }] }), 422, 'validation_failed'],
  ['another company', () => json({ companyId: t.other.companyId, branchId: t.branchId, printers: [{ name: 'a' }] }), 403, 'forbidden'],
  ['unknown company', () => json({ companyId: '00000000-0000-4000-8000-000000000000', branchId: t.branchId, printers: [{ name: 'a' }] }), 403, 'forbidden'],
  ['branch of another company', () => json({ companyId: t.companyId, branchId: t.other.branchId, printers: [{ name: 'a' }] }), 403, 'forbidden'],
  ['unknown branch', () => json({ branchId: '00000000-0000-4000-8000-000000000001', printers: [{ name: 'a' }] }), 403, 'forbidden'],
  ['branchId missing', () => json({ companyId: t.companyId, printers: [{ name: 'a' }] }), 422, 'validation_failed'],
  ['Idempotency-Key too long', () => ok([{ name: 'a' }]), 400, 'bad_request', { 'Idempotency-Key': 'k'.repeat(300) }],
];

for (const [name, mk, status, code, headers] of CASES) {
  test(`bad input: ${name} -> ${status}`, async () => {
    const before = state();
    const body = mk();
    const hdrs = { 'Content-Type': 'application/json', ...t.admin, ...(headers || {}) };
    const r = await h.api(s, 'POST', PATH, { raw: body, headers: hdrs });
    assert.equal(r.status, status, r.text.slice(0, 300));
    assert.equal(r.headers.get('content-type'), 'application/json');
    assert.equal(r.json.error.code, code);
    assert.equal(typeof r.json.error.message, 'string');
    assert.deepEqual(state(), before, 'the database is unchanged');
  });
}

test('bad input: a 10 MB body -> 413, answered before the body is sent', async () => {
  // A client that asks first (Expect: 100-continue, as curl does for big bodies)
  // gets the refusal instead of "100 Continue" and never sends the 10 MB.
  const before = state();
  const size = Buffer.byteLength(ok([{ name: 'x'.repeat(10 * 1024 * 1024) }]));
  const head = `POST ${PATH} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n` +
    `Authorization: Bearer ${t.adminToken}\r\nContent-Length: ${size}\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n`;
  const reply = await rawRequest(s.port, head, null);
  assert.match(reply, /^HTTP\/1\.1 413 /);
  assert.match(reply, /"code":"payload_too_large"/);
  assert.deepEqual(state(), before);
});

test('bad input: wrong method -> 405', async () => {
  const r = await h.api(s, 'PUT', PATH, { body: {}, headers: t.admin });
  assert.equal(r.status, 405);
  assert.equal(r.json.error.code, 'method_not_allowed');
});

test('bad input: Content-Length over the limit is refused before the body is read', async () => {
  const before = state();
  const head = `POST ${PATH} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n` +
    `Authorization: Bearer ${t.adminToken}\r\nContent-Length: ${50 * 1024 * 1024}\r\nConnection: close\r\n\r\n`;
  const reply = await rawRequest(s.port, head, '{"printers":[');
  assert.match(reply, /^HTTP\/1\.1 413 /);
  assert.match(reply, /"code":"payload_too_large"/);
  assert.deepEqual(state(), before);
});

test('bad input: chunked body over the limit -> 413', async () => {
  const before = state();
  const head = `POST ${PATH} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n` +
    `Authorization: Bearer ${t.adminToken}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n`;
  const chunk = 'a'.repeat(256 * 1024);
  let body = '';
  for (let i = 0; i < 6; i++) body += `${chunk.length.toString(16)}\r\n${chunk}\r\n`;
  body += '0\r\n\r\n';
  const reply = await rawRequest(s.port, head, body);
  assert.match(reply, /^HTTP\/1\.1 413 /);
  assert.deepEqual(state(), before);
});

// Items that are individually bad fail alone, with field errors; nothing of theirs is stored.
const ITEM_CASES = [
  ['name missing', {}, 'name'],
  ['name empty', { name: '   ' }, 'name'],
  ['name a number', { name: 42 }, 'name'],
  ['name 201 characters', { name: 'é'.repeat(201) }, 'name'],
  ['name huge', { name: 'n'.repeat(100000) }, 'name'],
  ['name with control characters', { name: 'bad\u0007bell' }, 'name'],
  ['negative port', { name: 'p', port: -1 }, 'port'],
  ['port zero', { name: 'p', port: 0 }, 'port'],
  ['port as a string', { name: 'p', port: '9100' }, 'port'],
  ['port fractional', { name: 'p', port: 91.5 }, 'port'],
  ['unknown connectionType', { name: 'p', connectionType: 'laser' }, 'connectionType'],
  ['unknown protocol', { name: 'p', protocol: 'http' }, 'protocol'],
  ['unknown status', { name: 'p', status: 'sleeping' }, 'status'],
  ['bad MAC', { name: 'p', macAddress: 'zz:zz' }, 'macAddress'],
  ['bad UUID', { name: 'p', uuid: 'not-a-uuid' }, 'uuid'],
  ['capabilities an array', { name: 'p', capabilities: [1, 2] }, 'capabilities'],
  ['capabilities too big', { name: 'p', capabilities: { blob: 'x'.repeat(20000) } }, 'capabilities'],
  ['stateReasons not strings', { name: 'p', stateReasons: [1] }, 'stateReasons'],
  ['too many stateReasons', { name: 'p', stateReasons: Array.from({ length: 40 }, (_, i) => `r${i}`) }, 'stateReasons'],
  ['unknown source', { name: 'p', sources: ['telepathy'] }, 'sources'],
  ['address too long', { name: 'p', address: 'a'.repeat(300) }, 'address'],
  ['item not an object', 'just a string', 'item'],
];

test('bad items fail one by one with field errors; valid neighbours are stored', async () => {
  const before = db.count('printers');
  const printers = ITEM_CASES.map((c) => c[1]);
  printers.push({ name: 'The valid one', unknownField: 'ignored', address: '10.3.0.1', port: 9100 });
  const r = await h.api(s, 'POST', PATH, { headers: t.admin, body: { companyId: t.companyId, branchId: t.branchId, printers } });
  assert.equal(r.status, 200);
  ITEM_CASES.forEach(([name, , field], i) => {
    const res = r.json.results[i];
    assert.equal(res.status, 'failed', name);
    assert.equal(res.error.code, 'validation_failed', name);
    assert.ok(res.error.fields[field], `${name}: error on ${field}: ${JSON.stringify(res.error.fields)}`);
    assert.ok(res.name === null || typeof res.name === 'string');
    if (res.name) assert.ok(res.name.length <= 800, `${name}: a huge name is not echoed`);
  });
  const last = r.json.results[ITEM_CASES.length];
  assert.equal(last.status, 'new');
  assert.equal(r.json.summary.failed, ITEM_CASES.length);
  assert.equal(db.count('printers'), before + 1);
  assert.equal(db.count('printers', "name = 'The valid one'"), 1);
});

test('SQL-looking and unusual names are stored verbatim', async () => {
  const names = ["Robert'); DROP TABLE printers;--", '"; DELETE FROM companies; --', 'Kasse 1 – Küche 🍕',
    '$1 OR 1=1', '\\x00\\\\ backslashes', 'グリル プリンター'];
  const r = await h.api(s, 'POST', PATH, { headers: t.admin, body: { companyId: t.companyId, branchId: t.branchId,
    printers: names.map((name, i) => ({ name, address: `10.4.0.${i + 1}`, port: 9100 })) } });
  assert.equal(r.status, 200);
  assert.deepEqual(r.json.results.map((x) => x.status), names.map(() => 'new'));
  for (const res of r.json.results) {
    const g = await h.api(s, 'GET', `/api/v1/printing/printers/${res.id}`, { headers: t.admin });
    assert.equal(g.json.name, names[res.index]);
  }
  assert.equal(db.count('companies'), 2);
  assert.equal(db.count('printers', "name = 'Robert''); DROP TABLE printers;--'"), 1);
});

test('the server is still healthy after all of that', async () => {
  assert.equal((await h.api(s, 'GET', '/readyz')).status, 200);
  assert.equal(s.exited(), null);
});
