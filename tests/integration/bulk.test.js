// bulk.test.js: POST /api/v1/printing/printers/bulk against a real server and
// database: statuses, identity matching, duplicate handling, idempotency, big
// batches in a constant number of statements, and the events each batch writes.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const h = require('../lib/harness');
const ak = require('../lib/authkit');

let db, s, t;

test.before(async () => {
  db = await h.createDatabase();
  s = await h.startServer({ db });
  t = await ak.tenant(db, s, { company: 'Bulk Co', branches: ['One', 'Two'] });
});
test.after(async () => { await s.stop(); });

// As the company admin, naming the branch (an agent's key names it by itself).
async function bulk(printers, { branchId = t.branchId, mode, headers = {} } = {}) {
  const body = { branchId, printers };
  if (mode) body.duplicateHandling = mode;
  return h.api(s, 'POST', '/api/v1/printing/printers/bulk', { body, headers: { ...t.admin, ...headers } });
}
const get = (p) => h.api(s, 'GET', p, { headers: t.admin });
const statuses = (r) => r.json.results.map((x) => x.status);
const rows = (branchId = t.branchId) => db.query(
  `SELECT id, device_key, name, display_name, status, address, port, uuid, model, serial_number,
          manufacturer, mac_address, state_reasons, sources
     FROM printers WHERE branch_id = '${branchId}' ORDER BY name, id`);

test('new, then updated, then unchanged; last_seen moves, events are written', async () => {
  const p = { name: 'Front Receipt', address: '10.1.0.10', port: 9100, connectionType: 'network',
    protocol: 'raw', model: 'TM-T20', sources: ['netscan'] };
  let r = await bulk([p]);
  assert.equal(r.status, 200);
  assert.deepEqual(statuses(r), ['new']);
  assert.equal(r.json.success, true);
  assert.equal(r.json.results[0].deviceKey, 'net:10.1.0.10:9100');
  assert.deepEqual(r.json.summary, { total: 1, success: 1, new: 1, updated: 0, unchanged: 0,
    skipped: 0, duplicate: 0, failed: 0 });
  const id = r.json.results[0].id;
  const seen1 = db.one(`SELECT last_seen FROM printers WHERE id = '${id}'`).last_seen;

  r = await bulk([{ ...p, model: 'TM-T88VI' }]);
  assert.deepEqual(statuses(r), ['updated']);
  assert.equal(r.json.results[0].id, id);
  assert.equal(r.json.results[0].matchedBy, 'address');
  assert.equal(db.one(`SELECT model FROM printers WHERE id = '${id}'`).model, 'TM-T88VI');

  r = await bulk([{ ...p, model: 'TM-T88VI' }]);
  assert.deepEqual(statuses(r), ['unchanged']);
  const seen3 = db.one(`SELECT last_seen FROM printers WHERE id = '${id}'`).last_seen;
  assert.ok(new Date(seen3) > new Date(seen1), 'last_seen refreshed by an unchanged report');
  assert.equal(db.count('printers', `branch_id = '${t.branchId}' AND name = 'Front Receipt'`), 1);

  const ev = db.query(`SELECT type, printer_id FROM printer_events WHERE printer_id = '${id}' ORDER BY id`);
  assert.deepEqual(ev.map((e) => e.type), ['printer:discovered', 'printer:updated']);
  assert.equal(db.count('sync_batches', `branch_id = '${t.branchId}'`) >= 3, true);
});

test('status change alone is printer:status; going offline is printer:lost', async () => {
  const p = { name: 'Status Probe', uuid: 'aaaaaaaa-0000-4000-8000-000000000001' };
  const r1 = await bulk([p]);
  const id = r1.json.results[0].id;
  await bulk([{ ...p, status: 'error', stateReasons: ['media-empty-error'] }]);
  await bulk([{ ...p, status: 'offline' }]);
  const ev = db.query(`SELECT type, payload->'printer'->>'status' AS st FROM printer_events
                        WHERE printer_id = '${id}' ORDER BY id`);
  assert.deepEqual(ev.map((e) => [e.type, e.st]), [
    ['printer:discovered', 'online'], ['printer:status', 'error'], ['printer:lost', 'offline']]);
  assert.deepEqual(db.one(`SELECT state_reasons FROM printers WHERE id = '${id}'`).state_reasons, []);
});

test('one printer under two deviceKeys is one row; two printers with one name are two', async () => {
  // First seen by a port scan, later by IPP with its uuid: one row, key upgraded.
  let r = await bulk([{ name: 'Kitchen', address: '10.1.0.20', port: 9100 }]);
  const id = r.json.results[0].id;
  r = await bulk([{ name: 'Kitchen IPP name', address: '10.1.0.20', port: 9100,
    uuid: 'urn:uuid:6BA7B810-9DAD-11D1-80B4-00C04FD430C8', deviceKey: 'uuid:6ba7b810-9dad-11d1-80b4-00c04fd430c8' }]);
  assert.deepEqual(statuses(r), ['updated']);
  assert.equal(r.json.results[0].id, id);
  assert.equal(r.json.results[0].matchedBy, 'address');
  const row = db.one(`SELECT device_key, uuid FROM printers WHERE id = '${id}'`);
  assert.equal(row.device_key, 'uuid:6ba7b810-9dad-11d1-80b4-00c04fd430c8');
  assert.equal(row.uuid, '6ba7b810-9dad-11d1-80b4-00c04fd430c8');
  // Later the scan sees it again by address only: still the same row.
  r = await bulk([{ name: 'Kitchen', address: '10.1.0.20', port: 9100 }]);
  assert.equal(r.json.results[0].id, id);

  // Same name, different addresses: two printers (a stronger identity disagrees).
  r = await bulk([{ name: 'Bar', address: '10.1.0.30', port: 9100 },
    { name: 'Bar', address: '10.1.0.31', port: 9100 }]);
  assert.deepEqual(statuses(r), ['new', 'new']);
  assert.notEqual(r.json.results[0].id, r.json.results[1].id);
  // A nameless-identity report with the same name matches by name (the seed rule).
  r = await bulk([{ name: '  LABEL   printer ' }]);
  assert.deepEqual(statuses(r), ['new']);
  const lid = r.json.results[0].id;
  r = await bulk([{ name: 'label printer' }]);
  assert.deepEqual(statuses(r), ['updated'], 'the discovered name is refreshed');
  assert.equal(r.json.results[0].matchedBy, 'name');
  assert.equal(r.json.results[0].id, lid);
  // Different UUIDs at the same address after a swap: a new printer.
  r = await bulk([{ name: 'Kitchen', address: '10.1.0.20', port: 9100, uuid: '00000000-0000-4000-8000-0000000000ff' }]);
  assert.deepEqual(statuses(r), ['new']);
});

test('items repeated inside one request: the first wins, the rest are duplicate', async () => {
  const r = await bulk([
    { name: 'Dup A', macAddress: '00-11-22-33-44-55' },
    { name: 'Dup A again', macAddress: '00:11:22:33:44:55' },
    { name: 'dup a' },
    { name: 'Dup B', serialNumber: 'SN1', manufacturer: 'EPSON' },
    { name: 'Dup B2', serialNumber: 'SN1', manufacturer: 'epson ' },
  ]);
  assert.equal(r.status, 200);
  assert.deepEqual(statuses(r), ['new', 'duplicate', 'duplicate', 'new', 'duplicate']);
  assert.deepEqual(r.json.results.map((x) => x.matchedBy), [undefined, 'mac', 'name', undefined, 'serial']);
  assert.equal(r.json.results[1].id, r.json.results[0].id);
  assert.equal(r.json.results[1].duplicateOf, 0);
  assert.equal(r.json.summary.duplicate, 3);
  assert.equal(db.count('printers', "name LIKE 'Dup%' OR name = 'dup a'"), 2);
  assert.equal(db.one("SELECT mac_address FROM printers WHERE name = 'Dup A'").mac_address, '00:11:22:33:44:55');
});

test('one invalid item among valid ones fails alone', async () => {
  const r = await bulk([
    { name: 'Valid 1', address: '10.1.1.1', port: 9100 },
    { name: 'Bad port', address: '10.1.1.2', port: 70000 },
    { name: 'Valid 2', address: '10.1.1.3', port: 9100 },
  ]);
  assert.equal(r.status, 200);
  assert.deepEqual(statuses(r), ['new', 'failed', 'new']);
  assert.equal(r.json.success, false);
  assert.equal(r.json.results[1].error.code, 'validation_failed');
  assert.deepEqual(r.json.results[1].error.fields, { port: 'must be a whole number from 1 to 65535' });
  assert.equal(r.json.results[1].id, null);
  assert.equal(db.count('printers', "name IN ('Valid 1', 'Valid 2', 'Bad port')"), 2);
  const ev = db.one(`SELECT payload FROM printer_events WHERE type = 'printer:sync:failed'
                      AND payload->>'batchId' = '${r.json.batchId}'`);
  assert.equal(ev.payload.failures[0].index, 1);
});

test('duplicateHandling: update refreshes, merge fills only empty fields, skip leaves rows alone', async () => {
  const base = { name: 'Mode Printer', address: '10.1.2.1', port: 9100, model: 'Old', location: null };
  const r0 = await bulk([base]);
  const id = r0.json.results[0].id;
  db.exec(`UPDATE printers SET display_name = 'Pass', role = 'kitchen', enabled = false WHERE id = '${id}'`);
  const one = () => db.one(`SELECT model, location, status, display_name, role, enabled FROM printers WHERE id = '${id}'`);

  let r = await bulk([{ ...base, model: 'Skipped', status: 'error' }], { mode: 'skip' });
  assert.deepEqual(statuses(r), ['skipped']);
  assert.deepEqual(one(), { model: 'Old', location: null, status: 'online', display_name: 'Pass', role: 'kitchen', enabled: false });

  r = await bulk([{ ...base, model: 'Merged', location: 'Back office', status: 'error' }], { mode: 'merge' });
  assert.deepEqual(statuses(r), ['updated']);
  assert.deepEqual(one(), { model: 'Old', location: 'Back office', status: 'error', display_name: 'Pass', role: 'kitchen', enabled: false });

  r = await bulk([{ ...base, model: 'New', location: 'Front', status: 'online' }], { mode: 'update' });
  assert.deepEqual(statuses(r), ['updated']);
  assert.deepEqual(one(), { model: 'New', location: 'Front', status: 'online', display_name: 'Pass', role: 'kitchen', enabled: false });

  // New printers are inserted whatever the mode.
  r = await bulk([{ name: 'Skip mode newcomer' }], { mode: 'skip' });
  assert.deepEqual(statuses(r), ['new']);
});

test('Idempotency-Key: a replay returns the stored response and writes nothing', async () => {
  const key = 'batch-' + Date.now();
  const printers = [{ name: 'Idem 1', address: '10.1.3.1', port: 9100 }, { name: 'Idem 2', address: '10.1.3.2', port: 9100 }];
  const r1 = await bulk(printers, { headers: { 'Idempotency-Key': key } });
  assert.equal(r1.status, 200);
  const counts = () => [db.count('printers'), db.count('sync_batches'), db.count('printer_events'),
    db.one("SELECT max(last_seen) AS m FROM printers WHERE name LIKE 'Idem%'").m];
  const before = counts();
  const r2 = await bulk(printers, { headers: { 'Idempotency-Key': key } });
  assert.equal(r2.status, 200);
  assert.equal(r2.headers.get('idempotent-replayed'), 'true');
  assert.deepEqual(r2.json, r1.json);
  assert.deepEqual(counts(), before);
  // The same key for a different request is refused, and writes nothing.
  const r3 = await bulk([{ name: 'Idem 3' }], { headers: { 'Idempotency-Key': key } });
  assert.equal(r3.status, 422);
  assert.equal(r3.json.error.code, 'idempotency_key_reused');
  assert.deepEqual(counts(), before);
  // A response stored before migration 014 (jsonb, in `response`) replays too.
  db.exec(`UPDATE sync_batches SET response = response_text::jsonb, response_text = NULL
    WHERE id = '${r1.json.batchId}'`);
  const r4 = await bulk(printers, { headers: { 'Idempotency-Key': key } });
  assert.equal(r4.status, 200);
  assert.equal(r4.headers.get('idempotent-replayed'), 'true');
  assert.deepEqual(r4.json, r1.json);
  assert.deepEqual(counts(), before);
});

test('a 1000-item batch is written with as many statements as a 1-item batch', async () => {
  // Counted twice: by the database (pg_stat_statements, for this database;
  // other statements of the server, such as the event listener's and the
  // ANALYZE it runs after a large fill, are left out by their text) and by the
  // server's own log line for each batch.
  db.exec('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
  const calls = () => Number(db.one(`SELECT coalesce(sum(calls), 0) AS c FROM pg_stat_statements
     WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
       AND query !~* 'pg_stat_statements|^\\s*(LISTEN|SET|SELECT 1$|ANALYZE)'
       AND query !~* '^\\s*SELECT .* FROM printer_events'
       AND query !~* 'agents'`).c);
  // The log line also counts round trips to PostgreSQL: at most 3 (DESIGN 7.1).
  const logged = (batchId) => {
    const m = s.log().match(new RegExp(`bulk batch=${batchId} .* statements=(\\d+) round_trips=(\\d+)`));
    assert.ok(m, `log line for batch ${batchId}`);
    assert.ok(Number(m[2]) <= 3, `at most 3 round trips, saw ${m[2]}`);
    return Number(m[1]);
  };
  const big = Array.from({ length: 1000 }, (_, i) => ({
    name: `Big ${i}`, address: `10.2.${i >> 8}.${i & 255}`, port: 9100, connectionType: 'network',
    protocol: 'raw', capabilities: { colors: i % 2 ? ['black'] : ['black', 'red'] }, sources: ['netscan'] }));
  await bulk([{ name: 'warm up' }], { branchId: t.branchIds[1] });

  let c0 = calls();
  let r = await bulk([{ name: 'single' }], { branchId: t.branchIds[1] });
  const small = calls() - c0;
  assert.deepEqual(statuses(r), ['new']);
  const smallLogged = logged(r.json.batchId);

  const maxId = Number(db.one('SELECT max(id) AS m FROM printer_events').m);
  c0 = calls();
  r = await bulk(big, { branchId: t.branchIds[1] });
  const large = calls() - c0;
  assert.equal(r.status, 200);
  assert.equal(r.json.summary.new, 1000);
  assert.equal(db.count('printers', `branch_id = '${t.branchIds[1]}'`), 1002);
  // A small batch that inserts reads twice (the second time under the branch
  // lock); a large one takes the lock at once: the count never grows with size.
  assert.ok(large <= small, `statements for 1000 items (${large}) at most those for 1 (${small})`);
  assert.ok(logged(r.json.batchId) <= smallLogged);
  assert.ok(smallLogged <= 11, `at most 11 statements per batch, saw ${smallLogged}`);

  // Past refresh_threshold the per-printer events collapse into one refresh-required.
  const ev = db.query(`SELECT type, payload FROM printer_events WHERE id > ${maxId} ORDER BY id`);
  assert.deepEqual(ev.map((e) => e.type), ['printer:refresh-required', 'printer:sync:success', 'printer:sync:batch-completed']);
  assert.equal(ev[0].payload.count, 1000);

  // The same 1000 again: all unchanged, in one go.
  r = await bulk(big, { branchId: t.branchIds[1] });
  assert.equal(r.json.summary.unchanged, 1000);
  assert.ok(logged(r.json.batchId) <= smallLogged);
});

test('branches are isolated: the same printer in another branch is another row', async () => {
  const p = { name: 'Shared Model', address: '10.9.9.9', port: 9100 };
  const a = await bulk([p], { branchId: t.branchIds[0] });
  const b = await bulk([p], { branchId: t.branchIds[1] });
  assert.deepEqual([statuses(a), statuses(b)], [['new'], ['new']]);
  assert.notEqual(a.json.results[0].id, b.json.results[0].id);
});

test('list, get, patch and delete', async () => {
  const r = await bulk([{ name: 'CRUD printer', address: '10.7.0.1', port: 9100 }]);
  const id = r.json.results[0].id;
  let g = await get(`/api/v1/printing/printers/${id}`);
  assert.equal(g.status, 200);
  assert.equal(g.json.name, 'CRUD printer');
  assert.equal(g.json.deviceKey, 'net:10.7.0.1:9100');

  let l = await get(`/api/v1/printing/printers?branchId=${t.branchId}&q=crud`);
  assert.equal(l.status, 200);
  assert.deepEqual(l.json.printers.map((p) => p.id), [id]);
  assert.equal(l.json.next, null);

  // Paging walks every row once.
  const seen = new Set();
  let after = '';
  for (let i = 0; i < 100; i++) {
    l = await get(`/api/v1/printing/printers?branchId=${t.branchId}&limit=7${after}`);
    l.json.printers.forEach((p) => seen.add(p.id));
    if (!l.json.next) break;
    after = `&after=${l.json.next}`;
  }
  assert.equal(seen.size, db.count('printers', `branch_id = '${t.branchId}'`));

  let p = await h.api(s, 'PATCH', `/api/v1/printing/printers/${id}`,
    { headers: t.admin, body: { displayName: 'Pass printer', role: 'kitchen', enabled: false } });
  assert.equal(p.status, 200);
  assert.deepEqual([p.json.displayName, p.json.role, p.json.enabled], ['Pass printer', 'kitchen', false]);
  p = await h.api(s, 'PATCH', `/api/v1/printing/printers/${id}`, { headers: t.admin, body: { role: 'chef' } });
  assert.equal(p.status, 422);
  assert.ok(p.json.error.details.role);
  // Sync never overwrites what a person set.
  await bulk([{ name: 'CRUD printer renamed by discovery', address: '10.7.0.1', port: 9100 }]);
  g = await get(`/api/v1/printing/printers/${id}`);
  assert.deepEqual([g.json.name, g.json.displayName, g.json.role, g.json.enabled],
    ['CRUD printer renamed by discovery', 'Pass printer', 'kitchen', false]);

  const d = await h.api(s, 'DELETE', `/api/v1/printing/printers/${id}`, { headers: t.admin });
  assert.equal(d.status, 204);
  assert.equal((await get(`/api/v1/printing/printers/${id}`)).status, 404);
  assert.equal((await h.api(s, 'DELETE', `/api/v1/printing/printers/${id}`, { headers: t.admin })).status, 404);
  assert.deepEqual(db.query(`SELECT type FROM printer_events WHERE printer_id = '${id}' ORDER BY id`).map((e) => e.type),
    ['printer:discovered', 'printer:updated', 'printer:updated', 'printer:removed']);
});

test('metrics count bulk batches and upserted printers', async () => {
  const m = await h.api(s, 'GET', '/metrics');
  assert.match(m.text, /printmaster_bulk_batches_total [1-9]\d*/);
  assert.match(m.text, /printmaster_http_requests_total\{method="POST",route="\/api\/v1\/printing\/printers\/bulk",status="200"\} [1-9]/);
  assert.match(m.text, /printmaster_http_request_duration_seconds_bucket\{method="POST",route="\/api\/v1\/printing\/printers\/bulk",le="\+Inf"\} [1-9]/);
});

test('agents: the key names the branch; two agents seeing one printer make one row', async () => {
  const keyB = ak.adminOk(db, ['agent', 'create', '--branch', t.branchId, 'second-agent']);
  const agentA = t.agent(0);
  const agentB = ak.bearer(keyB);
  const ids = db.query("SELECT id FROM agents ORDER BY created_at").map((r) => r.id);
  const post = (headers, printers, extra = {}) => h.api(s, 'POST', '/api/v1/printing/printers/bulk',
    { headers, body: { printers, ...extra } });
  const p = { name: 'Shared Kitchen', address: '10.8.0.1', port: 9100, sources: ['netscan'] };

  let r = await post(agentA, [p]);
  assert.equal(r.status, 200);
  assert.deepEqual(statuses(r), ['new']);
  const id = r.json.results[0].id;
  r = await post(agentB, [{ ...p, sources: ['dnssd'] }]);
  assert.deepEqual(statuses(r), ['unchanged']);
  assert.equal(r.json.results[0].id, id);
  assert.equal(db.count('printers', "name = 'Shared Kitchen'"), 1);
  let row = db.one(`SELECT status, sources FROM printers WHERE id = '${id}'`);
  assert.deepEqual(row.sources.methods, ['netscan', 'dnssd']);
  assert.equal(Object.keys(row.sources.agents).length, 2);
  assert.ok(Object.keys(row.sources.agents).every((a) => ids.includes(a)));

  // A loses sight of it: B still sees it, so it stays online.
  r = await post(agentA, [{ ...p, status: 'offline' }]);
  row = db.one(`SELECT status, sources FROM printers WHERE id = '${id}'`);
  assert.equal(row.status, 'online');
  assert.deepEqual(statuses(r), ['unchanged']);
  // Now B too: offline, and the page hears printer:lost.
  r = await post(agentB, [{ ...p, status: 'offline' }]);
  assert.deepEqual(statuses(r), ['updated']);
  assert.equal(db.one(`SELECT status FROM printers WHERE id = '${id}'`).status, 'offline');
  assert.equal(db.one(`SELECT type FROM printer_events WHERE printer_id = '${id}' ORDER BY id DESC LIMIT 1`).type,
    'printer:lost');

  // Two agents reporting one new printer at the same moment make one row: the
  // batches that insert take the branch's lock and decide on what they read
  // under it. Some pairs also carry a printer each already knows (that part
  // needs no lock), so locked and lock-free batches meet too.
  for (let i = 0; i < 20; i++) {
    const race = { name: `Race ${i}`, address: `10.9.0.${i}`, port: 9100, sources: ['netscan'] };
    const [ra, rb] = await Promise.all([
      post(agentA, i % 2 ? [race, p] : [race]),
      post(agentB, i % 3 ? [race] : [p, race])]);
    assert.equal(ra.status, 200, ra.text);
    assert.equal(rb.status, 200, rb.text);
    const st = [...statuses(ra), ...statuses(rb)].sort();
    assert.equal(st.filter((x) => x === 'new').length, 1, `race ${i}: one new (${st})`);
  }
  assert.equal(db.count('printers', "name LIKE 'Race %'"), 20);

  // The batch is recorded against the agent that sent it.
  const agentOf = db.one(`SELECT agent_id FROM sync_batches WHERE id = '${r.json.batchId}'`);
  assert.ok(ids.includes(agentOf.agent_id));

  // An agent naming another branch is refused; its own branch is fine.
  r = await post(agentA, [p], { branchId: t.branchIds[1] });
  assert.equal(r.status, 403);
  r = await post(agentA, [p], { branchId: t.branchId });
  assert.equal(r.status, 200);
  // Idempotency keys belong to their sender: the same key from two agents is two batches.
  const k = { 'Idempotency-Key': 'same-key-two-agents' };
  const a1 = await post({ ...agentA, ...k }, [{ name: 'Idem agent A' }]);
  const b1 = await post({ ...agentB, ...k }, [{ name: 'Idem agent B' }]);
  assert.deepEqual([a1.status, b1.status], [200, 200]);
  assert.notEqual(a1.json.batchId, b1.json.batchId);
});

test('viewers cannot sync; credentials are required', async () => {
  ak.adminOk(db, ['user', 'create', '--company', t.companyId, '--branch', t.branchId,
    '--email', 'viewer-bulk@example.test', '--role', 'viewer'], { input: 'viewer-password-1\n' });
  const token = await ak.login(s, 'viewer-bulk@example.test', 'viewer-password-1');
  let r = await h.api(s, 'POST', '/api/v1/printing/printers/bulk',
    { headers: ak.bearer(token), body: { printers: [{ name: 'x' }] } });
  assert.equal(r.status, 403);
  r = await h.api(s, 'POST', '/api/v1/printing/printers/bulk', { body: { printers: [{ name: 'x' }] } });
  assert.equal(r.status, 401);
});

// A row keeps the part of its document a sighting does not change; readers
// add sources and lastSeen (printer_doc(), sql/011). Whatever wrote the row
// (new, updated, unchanged, merged, renamed by a person, disabled, agents'
// sightings: all of this file and a few more), the document sent must be
// printer_json() of the row.
test('every row\'s stored document is what printer_json() makes of the row', async () => {
  const p = { name: 'Doc printer', address: '10.99.0.1', port: 9100, connectionType: 'network',
    protocol: 'ipp', uuid: 'urn:uuid:6a1e0000-0000-4000-8000-00000000d0c1', macAddress: 'aa:bb:cc:00:d0:c1',
    serialNumber: 'DOC-1', manufacturer: 'Epson', model: 'TM-m30', location: 'Bar',
    capabilities: { color: false, duplex: true, media: ['80mm', '58mm'] },
    stateReasons: ['media-low'], status: 'online', sources: ['ipp', 'dnssd'] };
  let r = await bulk([p]);
  assert.deepEqual(statuses(r), ['new']);
  const id = r.json.results[0].id;
  const patched = await h.api(s, 'PATCH', `/api/v1/printing/printers/${id}`,
    { headers: t.admin, body: { displayName: 'Bar – "Ünicode" \\ ✓', enabled: false } });
  assert.equal(patched.status, 200);
  r = await bulk([p]);	// unchanged: the stored document is not rebuilt
  assert.deepEqual(statuses(r), ['unchanged']);
  r = await bulk([{ ...p, stateReasons: [], status: 'offline', location: null }]);
  assert.deepEqual(statuses(r), ['updated']);
  r = await bulk([{ ...p, model: 'TM-m30II', location: 'Back bar' }], { mode: 'merge' });
  assert.deepEqual(statuses(r), ['updated']);

  const bad = db.query(`SELECT id, printer_doc(p) AS doc, printer_json(p)::text AS want
    FROM printers p WHERE printer_doc(p)::jsonb <> printer_json(p)::jsonb LIMIT 3`);
  assert.deepEqual(bad, [], 'documents that differ from printer_json()');
  assert.ok(db.count('printers') >= 20, 'the file wrote many kinds of rows');
  const g = await get(`/api/v1/printing/printers/${id}`);
  assert.deepEqual([g.json.displayName, g.json.enabled, g.json.status, g.json.model],
    ['Bar – "Ünicode" \\ ✓', false, 'online', 'TM-m30']);
  const seen = db.one(`SELECT to_json(last_seen) AS seen FROM printers WHERE id = '${id}'`).seen;
  assert.equal(g.json.lastSeen, seen, 'lastSeen is the row\'s, not the stored document\'s');
});

// The printers' branch rules are kept by triggers (sql/011), not a foreign key.
test('a printer names an existing branch, stays in it, and goes with it', async () => {
  const sqlFails = (q, re) => assert.throws(() => db.exec(q), (e) => re.test(String(e.stderr)));
  sqlFails(`INSERT INTO printers (company_id, branch_id, device_key, name, name_key)
    VALUES ('${t.companyId}', gen_random_uuid(), 'name:ghost', 'Ghost', 'ghost')`,
  /branch that does not exist/);
  // A branch of another company is not this company's branch.
  const other = await ak.tenant(db, s, { company: 'Other Bulk Co', branches: ['Elsewhere'] });
  sqlFails(`INSERT INTO printers (company_id, branch_id, device_key, name, name_key)
    VALUES ('${t.companyId}', '${other.branchId}', 'name:ghost', 'Ghost', 'ghost')`,
  /branch that does not exist/);

  const gone = ak.adminOk(db, ['branch', 'create', '--company', t.companyId, 'Short-lived']);
  const r = await bulk([{ name: 'Leaves with its branch', address: '10.98.0.1', port: 9100 },
    { name: 'Also leaves', address: '10.98.0.2', port: 9100 }], { branchId: gone });
  assert.deepEqual(statuses(r), ['new', 'new']);
  sqlFails(`UPDATE printers SET branch_id = '${t.branchId}' WHERE branch_id = '${gone}'`,
    /stays in its branch/);
  assert.equal(db.count('printers', `branch_id = '${gone}'`), 2);
  db.exec(`DELETE FROM branches WHERE id = '${gone}'`);
  assert.equal(db.count('printers', `branch_id = '${gone}'`), 0);
  assert.ok(db.count('printers', `branch_id = '${t.branchId}'`) > 0, 'other branches keep theirs');
});
