// hostile_input.test.js: edge-case and hostile input found in review and by
// fuzzing: long multi-byte names, deviceKey collisions, bytes that are not
// UTF-8, database locales, and request bytes that reach the log.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const h = require('../lib/harness');
const ak = require('../lib/authkit');
const net = require('node:net');

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

test('a new printer whose deviceKey another printer holds fails alone; the batch goes through', async () => {
  // Stored: cups:Edge with one uuid. Sent: the same key with another uuid (so
  // identity says another printer), next to a good item. The INSERT used to hit
  // the unique key and the whole batch answered 500.
  const key = 'cups:edge-agent:Edge';
  let r = await bulk([{ name: 'Edge', deviceKey: key, uuid: '11111111-0000-4000-8000-000000000001' }]);
  assert.deepEqual(r.json.results.map((x) => x.status), ['new']);
  r = await bulk([
    { name: 'Edge', deviceKey: key, uuid: '11111111-0000-4000-8000-000000000002' },
    { name: 'Fine', address: '10.9.0.1', port: 9100 },
    { name: 'Twin A', deviceKey: 'cups:edge-agent:Twin', uuid: '11111111-0000-4000-8000-000000000003' },
    { name: 'Twin B', deviceKey: 'cups:edge-agent:Twin', uuid: '11111111-0000-4000-8000-000000000004' },
  ]);
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json.results.map((x) => x.status), ['failed', 'new', 'new', 'failed']);
  assert.equal(r.json.success, false);
  assert.equal(r.json.results[0].error.code, 'validation_failed');
  assert.match(r.json.results[0].error.fields.deviceKey, /another printer/);
  assert.equal(r.json.results[3].error.fields.deviceKey, r.json.results[0].error.fields.deviceKey);
  assert.equal(db.count('printers', `branch_id = '${t.branchId}' AND device_key = '${key}'`), 1);
  assert.equal(db.count('printers', `branch_id = '${t.branchId}' AND device_key = 'cups:edge-agent:Twin'`), 1);
  assert.equal(db.count('printers', `branch_id = '${t.branchId}' AND name = 'Fine'`), 1);
});

test('a deviceKey upgrade never takes the key a new item of the same batch holds', async () => {
  // Stored "Upg" (name key). Item 0 is new with key usb:edge:1 and a MAC; item 1
  // is "Upg" by name, bringing usb:edge:1 as a stronger key than name:upg.
  let r = await bulk([{ name: 'Upg' }]);
  const id = r.json.results[0].id;
  r = await bulk([
    { name: 'Other', deviceKey: 'usb:edge:1', macAddress: '00:11:22:33:44:01' },
    { name: 'Upg', deviceKey: 'usb:edge:1', macAddress: '00:11:22:33:44:02' },
  ]);
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json.results.map((x) => x.status), ['new', 'updated']);
  assert.equal(r.json.results[1].id, id);
  assert.equal(db.one(`SELECT device_key FROM printers WHERE id = '${id}'`).device_key, 'name:upg');
});

test('bytes PostgreSQL cannot store as text are a 400, not a 500 or 503', async () => {
  // Node sends header strings as Latin-1: "\xff" reaches the server as one
  // byte 0xff, which is not UTF-8. It used to reach the text parameter of the
  // replay query and come back as 500.
  const before = db.count('sync_batches');
  let r = await bulk([{ name: 'Idem' }], { headers: { 'Idempotency-Key': 'key-\xff' } });
  assert.equal(r.status, 400, r.text);
  assert.equal(r.json.error.code, 'bad_request');
  assert.equal(db.count('sync_batches'), before);
  // The list's search text, percent-encoded as a byte that is not UTF-8.
  r = await h.api(s, 'GET', '/api/v1/printing/printers?q=%FF', { headers: t.admin });
  assert.equal(r.status, 400, r.text);
  assert.equal(r.json.error.code, 'bad_request');
  r = await h.api(s, 'GET', `/api/v1/printing/printers?q=${encodeURIComponent('é')}`, { headers: t.admin });
  assert.equal(r.status, 200, r.text);
});

test('name and address matching does not depend on the database locale', async () => {
  // C folds only ASCII case; PostgreSQL's lower() in a UTF-8 locale folds É
  // too. The candidate query must fold exactly as identity.c does, or a
  // stored printer is never fetched and its sighting becomes a second row.
  const udb = await h.createDatabase({ locale: 'C.utf8' });
  const us = await h.startServer({ db: udb });
  try {
    const ut = await ak.tenant(udb, us, { company: 'Locale Co', branches: ['One'] });
    const send = (printers) => h.api(us, 'POST', '/api/v1/printing/printers/bulk',
      { body: { branchId: ut.branchId, printers }, headers: ut.admin });
    let r = await send([{ name: 'ÉCRAN Bar', macAddress: '00:11:22:33:44:aa' },
      { name: 'Kiosk', address: 'HÔTE.local', port: 9100, uuid: '11111111-0000-4000-8000-0000000000aa' }]);
    assert.deepEqual(r.json.results.map((x) => x.status), ['new', 'new']);
    // The same printers seen without their stronger identities.
    r = await send([{ name: 'ÉCRAN Bar' }, { name: 'Kiosk 2', address: 'HÔTE.local', port: 9100 }]);
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json.results.map((x) => [x.status, x.matchedBy]),
      [['unchanged', 'name'], ['updated', 'address']]);
    assert.equal(udb.count('printers'), 2);
  } finally {
    await us.stop();
  }
});

test('a request path cannot forge log lines or drop its own (text and JSON logs)', async () => {
  // MHD percent-decodes the path; %0A is a newline in the logged path.
  let r = await h.api(s, 'GET', '/nope%0A2030-01-01T00:00:00.000Z%20printmaster%20info:%20forged');
  assert.equal(r.status, 404);
  await h.waitFor(() => s.log().includes(r.headers.get('x-request-id')), { what: 'access log line' });
  assert.doesNotMatch(s.log(), /^2030-01-01T00:00:00\.000Z printmaster info: forged/m);
  assert.match(s.log(), /GET \/nope\?2030-01-01T00:00:00\.000Z printmaster info: forged 404/);

  // In JSON format a byte that is not UTF-8 used to drop the whole line.
  const js = await h.startServer({ db, env: { PRINTMASTER_LOG_FORMAT: 'json' } });
  try {
    r = await h.api(js, 'GET', '/nope%FF');
    assert.equal(r.status, 404);
    const id = r.headers.get('x-request-id');
    await h.waitFor(() => js.log().includes(id), { what: 'JSON access log line' });
    const line = js.log().split('\n').find((l) => l.includes(id));
    assert.match(JSON.parse(line).msg, /GET \/nope\? 404/);
  } finally {
    await js.stop();
  }
});

test('a chunked upload that never ends is cut off, not read for ever', async () => {
  // Without a Content-Length the limit is found while reading, and MHD cannot
  // answer before the body ends. The server used to read (and drop) for as
  // long as the client kept sending; it now closes the connection once the
  // body is far past max_body_bytes (a body a little over still gets its 413).
  const ls = await h.startServer({ db, env: { PRINTMASTER_MAX_BODY_BYTES: '4096' } });
  const sock = net.connect(ls.port, '127.0.0.1');
  let sent = 0;
  try {
    await new Promise((resolve, reject) => {
      let timer;
      const stop = setTimeout(() => reject(new Error(`still reading after ${sent} bytes`)), 5000);
      sock.on('error', () => {});
      sock.on('close', () => { clearTimeout(stop); clearInterval(timer); resolve(); });
      sock.write(`POST /api/v1/printing/printers/bulk HTTP/1.1\r\nHost: x\r\n` +
        `Content-Type: application/json\r\nAuthorization: ${t.admin.Authorization}\r\n` +
        'Transfer-Encoding: chunked\r\n\r\n');
      const chunk = 'a'.repeat(1024);
      // 1 KB every 10 ms, never the final chunk: 500 KB in the 5 s allowed.
      timer = setInterval(() => {
        if (!sock.destroyed) { sock.write(`400\r\n${chunk}\r\n`); sent += 1024; }
      }, 10);
    });
    assert.ok(sent <= 4096 * 4 + 64 * 1024, `closed after ${sent} bytes`);
    assert.match(ls.log(), /body far over max_body_bytes, closing/);
  } finally {
    sock.destroy();
    await ls.stop();
  }
});

test('PATCH displayName refuses control characters, as a printer name does', async () => {
  const r0 = await bulk([{ name: 'Patchable' }]);
  const id = r0.json.results[0].id;
  const path = `/api/v1/printing/printers/${id}`;
  let r = await h.api(s, 'PATCH', path, { body: { displayName: 'Bar\u001b[2J\r\nfake' }, headers: t.admin });
  assert.equal(r.status, 422, r.text);
  assert.match(r.json.error.details.displayName, /control characters/);
  assert.equal(db.one(`SELECT display_name FROM printers WHERE id = '${id}'`).display_name, null);
  r = await h.api(s, 'PATCH', path, { body: { displayName: 'Bar (été)' }, headers: t.admin });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.displayName, 'Bar (été)');
});
