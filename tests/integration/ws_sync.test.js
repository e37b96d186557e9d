// ws_sync.test.js: an agent's batch over its websocket ("sync", the fallback
// when a proxy refuses its POSTs) is the bulk request itself: the same
// response, the same Idempotency-Key (one batch sent over HTTP and again over
// the websocket, serialized differently, is one request), the same events and
// rows; batches larger than other clients' messages are taken; only agents
// may send one.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { execFileSync } = require('node:child_process');
const h = require('../lib/harness');
const k = require('../lib/authkit');
const w = require('../lib/wskit');

let db, server, T;

test.before(async () => {
  db = await h.createDatabase();
  server = await h.startServer({ db });
  T = await w.tenants(db, server);
});
test.after(async () => { await server.stop(); });

const printer = (i, status = 'online') => ({ name: `WS ${i}`, address: `10.77.${i >> 8}.${i & 255}`,
  port: 9100, connectionType: 'network', protocol: 'raw', status, sources: ['netscan'] });

let seq = 0;
async function sync(c, body, key) {
  const idempotencyKey = key || `ws-${process.pid}-${++seq}`;
  const from = c.msgs.length;
  c.send({ type: 'sync', idempotencyKey, ...body });
  const m = await c.next((x) => x.type === 'sync-result' && x.idempotencyKey === idempotencyKey,
    { from, timeout: 15000 });
  return m;
}

test('a sync over the websocket is the bulk: response, rows, events, replay', async () => {
  const agent = await w.connect(server, { token: T.agentKey });
  const watcher = await w.connect(server, { token: T.tok.adminA });
  const r = await sync(agent, { printers: [printer(1), printer(2)] }, 'ws-first');
  assert.equal(r.status, 200);
  assert.equal(r.replayed, false);
  assert.deepEqual(r.response.summary, { total: 2, success: 2, new: 2, updated: 0,
    unchanged: 0, skipped: 0, duplicate: 0, failed: 0 });
  const rows = db.query(`SELECT name, sources FROM printers WHERE branch_id = '${T.a1}'
    AND name LIKE 'WS %' ORDER BY name`);
  assert.deepEqual(rows.map((x) => x.name), ['WS 1', 'WS 2']);
  assert.ok(rows[0].sources.agents[T.agentId], 'the sighting is the agent\'s');
  const ev = await watcher.next((m) => m.type === 'event' && m.event === 'printer:sync:batch-completed'
    && m.data.batchId === r.response.batchId);
  assert.equal(ev.data.agentId, T.agentId);
  // The same key again: the stored response, nothing written twice.
  const again = await sync(agent, { printers: [printer(1), printer(2)] }, 'ws-first');
  assert.equal(again.status, 200);
  assert.equal(again.replayed, true);
  assert.equal(db.count('sync_batches', "idempotency_key = 'ws-first'"), 1);
  // Another body under that key: refused as over HTTP.
  const other = await sync(agent, { printers: [printer(3)] }, 'ws-first');
  assert.equal(other.status, 422);
  assert.equal(other.response.error.code, 'idempotency_key_reused');
  await agent.close();
  await watcher.close();
});

test('a batch POSTed, then sent again over the websocket under its key, is one batch', async () => {
  // The HTTP body is spaced and ordered differently from the websocket's message.
  const raw = `{ "duplicateHandling" : "update", "printers" : [ ${JSON.stringify(printer(10))} ] }`;
  const r = await h.api(server, 'POST', '/api/v1/printing/printers/bulk', { raw,
    headers: { ...k.bearer(T.agentKey), 'Content-Type': 'application/json', 'Idempotency-Key': 'both-ways' } });
  assert.equal(r.status, 200, r.text);
  const agent = await w.connect(server, { token: T.agentKey });
  const m = await sync(agent, { printers: [printer(10)], duplicateHandling: 'update' }, 'both-ways');
  assert.equal(m.status, 200);
  assert.equal(m.replayed, true);
  assert.equal(m.response.batchId, r.json.batchId);
  // And the other way round.
  const first = await sync(agent, { printers: [printer(11)] }, 'ws-then-http');
  const back = await h.api(server, 'POST', '/api/v1/printing/printers/bulk', {
    headers: { ...k.bearer(T.agentKey), 'Idempotency-Key': 'ws-then-http' }, body: { printers: [printer(11)] } });
  assert.equal(back.status, 200);
  assert.equal(back.headers.get('idempotent-replayed'), 'true');
  assert.equal(back.json.batchId, first.response.batchId);
  await agent.close();
});

test('a key stored by an older version (the hash of the bytes) still replays', async () => {
  const raw = `{"printers":[${JSON.stringify(printer(30))}]}`;
  const post = (body) => h.api(server, 'POST', '/api/v1/printing/printers/bulk', { raw: body,
    headers: { ...k.bearer(T.agentKey), 'Content-Type': 'application/json', 'Idempotency-Key': 'old-hash' } });
  const first = await post(raw);
  assert.equal(first.status, 200, first.text);
  // What versions before the JSON fingerprint stored: BLAKE2b-256 of the body.
  const bytesHash = execFileSync('python3', ['-c',
    'import hashlib,sys; print(hashlib.blake2b(sys.stdin.buffer.read(), digest_size=32).hexdigest())'],
  { input: raw, encoding: 'utf8' }).trim();
  db.exec(`UPDATE sync_batches SET request_hash = '${bytesHash}' WHERE idempotency_key = 'old-hash'`);
  const again = await post(raw);
  assert.equal(again.status, 200);
  assert.equal(again.headers.get('idempotent-replayed'), 'true');
  assert.equal(again.json.batchId, first.json.batchId);
  const other = await post(`{"printers":[${JSON.stringify(printer(31))}]}`);
  assert.equal(other.status, 422);
});

test('an agent\'s batch may be larger than other clients\' messages', async () => {
  const agent = await w.connect(server, { token: T.agentKey });
  const many = Array.from({ length: 300 }, (_, i) => ({ ...printer(1000 + i), location: 'x'.repeat(40) }));
  assert.ok(JSON.stringify(many).length > 32768);
  const r = await sync(agent, { printers: many });
  assert.equal(r.status, 200);
  assert.equal(r.response.summary.new, 300);
  await agent.close();
});

test('bad syncs are refused; only agents send one', async () => {
  const agent = await w.connect(server, { token: T.agentKey });
  let from = agent.msgs.length;
  agent.send({ type: 'sync', printers: [printer(20)] });
  let e = await agent.next((m) => m.type === 'error', { from });
  assert.equal(e.code, 'bad_request');
  // A body the bulk refuses comes back as the bulk's answer.
  const bad = await sync(agent, { printers: 'none' });
  assert.equal(bad.status, 400);
  assert.equal(bad.response.error.code, 'bad_request');
  const admin = await w.connect(server, { token: T.tok.adminA });
  from = admin.msgs.length;
  admin.send({ type: 'sync', idempotencyKey: 'x', printers: [printer(21)] });
  e = await admin.next((m) => m.type === 'error', { from });
  assert.equal(e.code, 'forbidden');
  assert.equal(db.count('printers', "name = 'WS 21'"), 0);
  await agent.close();
  await admin.close();
});
