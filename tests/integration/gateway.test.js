// gateway.test.js: /ws end to end with real clients and real credentials:
// welcome and rooms, events delivered in order to the right rooms only,
// refused subscriptions, replay with since, nothing for rolled-back writes,
// Origin checks, refused credentials, and the agent side (presence, stats,
// scan and test-print relayed over the socket).
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const h = require('../lib/harness');
const k = require('../lib/authkit');
const w = require('../lib/wskit');

test('gateway', async (t) => {
  const db = await h.createDatabase();
  const s = await h.startServer({ db, env: { PRINTMASTER_REFRESH_THRESHOLD: '3' } });
  t.after(() => s.stop());
  const T = await w.tenants(db, s);
  const P = T.printers;
  const open = [];
  const connect = async (opts) => { const c = await w.connect(s, opts); open.push(c); return c; };
  t.after(() => Promise.all(open.map((c) => c.close())));

  await t.test('welcome names the credential\'s rooms and role', async () => {
    const admin = await connect({ token: T.tok.adminA });
    assert.deepEqual(admin.welcome.rooms, [`company:${T.A.companyId}`]);
    assert.equal(admin.welcome.role, 'admin');
    assert.equal(typeof admin.welcome.lastEventId, 'number');
    const viewer = await connect({ cookie: T.tok.viewerA1 });
    assert.deepEqual(viewer.welcome.rooms, [`branch:${T.a1}`]);
    assert.equal(viewer.welcome.role, 'viewer');
    const agent = await connect({ query: `token=${encodeURIComponent(T.agentKey)}` });
    assert.deepEqual(agent.welcome.rooms, [`branch:${T.a1}`]);
    assert.equal(agent.welcome.role, 'agent');
    agent.send({ type: 'ping' });
    await agent.next((m) => m.type === 'pong');
    // A client that says nothing still gets events, after the hold (1 s).
    const quiet = await connect({ token: T.tok.viewerA1, held: true });
    const t0 = Date.now();
    await w.rename(s, T.tok.adminA, P.a1, 'Kitchen');
    const ev = await quiet.next((m) => m.type === 'event', { timeout: 5000 });
    assert.equal(ev.data.printer.displayName, 'Kitchen');
    assert.ok(Date.now() - t0 < 4000);
    await quiet.close();
    // Its agent:offline must not leak into the next test's expectations.
    await agent.close();
    const off = await admin.next((m) => m.event === 'agent:offline');
    assert.deepEqual(off.data, { agentId: T.agentId, name: 'till-1', hostname: null, version: null });
    await Promise.all([admin.close(), viewer.close()]);
  });

  await t.test('events reach the right rooms only, once, in id order', async () => {
    const adminA = await connect({ token: T.tok.adminA });
    const viewerA1 = await connect({ token: T.tok.viewerA1 });
    const viewerA2 = await connect({ token: T.tok.viewerA2 });
    const adminB = await connect({ token: T.tok.adminB });
    await w.rename(s, T.tok.adminA, P.a1, 'Kitchen left');
    await w.rename(s, T.tok.adminA, P.a2, 'Bar main');
    await w.rename(s, T.tok.adminA, P.a1, 'Kitchen right');
    const beforeDelete = db.one('SELECT max(id)::int AS m FROM printer_events').m;
    const del = await h.api(s, 'DELETE', `/api/v1/printing/printers/${P.a2}`,
      { headers: k.bearer(T.tok.adminA) });
    assert.equal(del.status, 204);
    await adminA.next((m) => m.event === 'printer:removed');
    await viewerA2.next((m) => m.event === 'printer:removed');
    await viewerA1.next((m) => m.data && m.data.printer && m.data.printer.displayName === 'Kitchen right');
    const rows = db.query(`SELECT id::int, type FROM printer_events WHERE id > ${adminA.welcome.lastEventId} ORDER BY id`);
    const ev = adminA.events();
    assert.deepEqual(ev.map((e) => [e.id, e.event]), rows.map((r) => [r.id, r.type]));
    assert.deepEqual(ev.map((e) => e.event), ['printer:updated', 'printer:updated',
      'printer:updated', 'printer:removed']);
    for (const e of ev) {
      assert.equal(e.room, `company:${T.A.companyId}`);
      assert.equal(e.companyId, T.A.companyId);
      assert.match(e.ts, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    }
    assert.deepEqual(ev.map((e) => e.data.printer ? e.data.printer.displayName : e.data.name),
      ['Kitchen left', 'Bar main', 'Kitchen right', 'Bar']);
    assert.deepEqual(ev[3].data, { id: P.a2, name: 'Bar' });
    assert.equal(ev[3].id, beforeDelete + 1);
    // The branch viewers see only their branch, through the branch room.
    assert.deepEqual(viewerA1.events().map((e) => [e.room, e.data.printer.displayName]),
      [[`branch:${T.a1}`, 'Kitchen left'], [`branch:${T.a1}`, 'Kitchen right']]);
    assert.deepEqual(viewerA2.events().map((e) => [e.room, e.event]),
      [[`branch:${T.a2}`, 'printer:updated'], [`branch:${T.a2}`, 'printer:removed']]);
    // Another company hears nothing; a change of its own arrives first.
    await w.rename(s, T.tok.adminB, P.b1, 'Beta till');
    const first = await adminB.next((m) => m.type === 'event');
    assert.equal(first.data.printer.id, P.b1);
    assert.equal(adminB.events().length, 1);
    assert.equal(adminA.events().length, 4);
    await Promise.all([adminA.close(), viewerA1.close(), viewerA2.close(), adminB.close()]);
  });

  await t.test('a bulk sync: per-printer and batch events, in order, in its branch only', async () => {
    const adminA = await connect({ token: T.tok.adminA });
    const viewerA1 = await connect({ token: T.tok.viewerA1 });
    const viewerA2 = await connect({ token: T.tok.viewerA2 });
    const adminB = await connect({ token: T.tok.adminB });
    const bulk = (printers, headers = {}) => h.api(s, 'POST', '/api/v1/printing/printers/bulk',
      { headers: { ...k.bearer(T.agentKey), ...headers }, body: { printers } });
    const net = (name, last) => ({ name, connectionType: 'network', protocol: 'raw',
      address: `10.0.0.${last}`, port: 9100, status: 'online' });
    let r = await bulk([net('Till A', 5), { address: 'no name' }, net('Till B', 6)]);
    assert.equal(r.status, 200);
    const batchId = r.json.batchId;
    await viewerA1.next((m) => m.event === 'printer:sync:batch-completed');
    await adminA.next((m) => m.event === 'printer:sync:batch-completed');
    const want = ['printer:discovered', 'printer:discovered', 'printer:sync:failed',
      'printer:sync:batch-completed'];
    assert.deepEqual(viewerA1.events().map((e) => e.event), want);
    assert.deepEqual(adminA.events().map((e) => e.event), want);
    assert.deepEqual(viewerA1.events().map((e) => e.id), adminA.events().map((e) => e.id));
    const ev = viewerA1.events();
    for (let i = 1; i < ev.length; i++) assert.ok(ev[i].id > ev[i - 1].id);
    assert.deepEqual(ev.slice(0, 2).map((e) => e.data.printer.name), ['Till A', 'Till B']);
    assert.equal(ev[0].data.printer.branchId, T.a1);
    assert.equal(ev[2].data.batchId, batchId);
    assert.equal(ev[2].data.agentId, T.agentId);
    assert.deepEqual(ev[2].data.failures.map((f) => f.index), [1]);
    assert.equal(ev[3].data.summary.new, 2);
    assert.equal(ev[3].data.summary.failed, 1);
    assert.ok(ev.every((e) => e.room === `branch:${T.a1}` && e.branchId === T.a1));
    assert.ok(adminA.events().every((e) => e.room === `company:${T.A.companyId}`));

    // A request refused as a whole changes nothing and says nothing.
    r = await h.api(s, 'POST', '/api/v1/printing/printers/bulk',
      { headers: k.bearer(T.agentKey), body: { printers: 'not a list' } });
    assert.ok(r.status === 400 || r.status === 422, `status ${r.status}`);
    // Past refresh_threshold (3 here): one refresh-required instead of per-printer events.
    const n = viewerA1.msgs.length;
    r = await bulk([3, 4, 7, 8, 9].map((i) => net(`Big ${i}`, 100 + i)));
    assert.equal(r.status, 200);
    await viewerA1.next((m) => m.event === 'printer:sync:batch-completed', { from: n });
    assert.deepEqual(viewerA1.msgs.slice(n).map((e) => e.event), ['printer:refresh-required',
      'printer:sync:success', 'printer:sync:batch-completed']);
    assert.deepEqual(viewerA1.msgs[n].data, { reason: 'bulk', count: 5 });
    // Nobody outside branch a1 heard any of it.
    await w.rename(s, T.tok.adminB, T.printers.b1, 'Beta check');
    await adminB.next((m) => m.type === 'event');
    assert.deepEqual(adminB.events().map((e) => e.event), ['printer:updated']);
    assert.deepEqual(viewerA2.events(), []);
    await Promise.all([adminA.close(), viewerA1.close(), viewerA2.close(), adminB.close()]);
  });

  await t.test('subscribe narrows rooms; rooms outside the credential are refused', async () => {
    const viewer = await connect({ token: T.tok.viewerA1 });
    viewer.send({ type: 'subscribe', rooms: [`branch:${T.a2}`] });
    let m = await viewer.next((x) => x.type === 'error');
    assert.equal(m.code, 'forbidden');
    let n = viewer.msgs.length;
    viewer.send({ type: 'subscribe', rooms: [`company:${T.A.companyId}`] });
    m = await viewer.next((x) => x.type === 'error', { from: n });
    assert.equal(m.code, 'forbidden');
    const admin = await connect({ token: T.tok.adminA });
    admin.send({ type: 'subscribe', rooms: [`branch:${T.b1}`] });
    m = await admin.next((x) => x.type === 'error');
    assert.equal(m.code, 'forbidden');
    n = admin.msgs.length;
    admin.send({ type: 'subscribe', rooms: [`company:${T.B.companyId}`] });
    m = await admin.next((x) => x.type === 'error', { from: n });
    assert.equal(m.code, 'forbidden');
    n = admin.msgs.length;
    admin.send({ type: 'subscribe', rooms: ['printers'] });
    m = await admin.next((x) => x.type === 'error', { from: n });
    assert.equal(m.code, 'bad_request');
    // An empty list keeps the rooms.
    n = admin.msgs.length;
    admin.send({ type: 'subscribe', rooms: [] });
    m = await admin.next((x) => x.type === 'subscribed', { from: n });
    assert.deepEqual(m.rooms, [`company:${T.A.companyId}`]);
    // A company admin may narrow to one of its branches.
    n = admin.msgs.length;
    admin.send({ type: 'subscribe', rooms: [`branch:${T.a1}`] });
    m = await admin.next((x) => x.type === 'subscribed', { from: n });
    assert.deepEqual(m.rooms, [`branch:${T.a1}`]);
    const a2b = k.addPrinter(db, T.A.companyId, T.a2, 'Bar two');
    await w.rename(s, T.tok.adminA, a2b, 'Not for a1');
    await w.rename(s, T.tok.adminA, P.a1, 'For a1');
    m = await admin.next((x) => x.type === 'event');
    assert.equal(m.data.printer.displayName, 'For a1');
    assert.equal(m.room, `branch:${T.a1}`);
    assert.equal(admin.events().length, 1);
    assert.equal(viewer.events().length, 1);
    await Promise.all([viewer.close(), admin.close()]);
  });

  // The server reads client frames in small pieces (its receive buffer is far
  // smaller than the 16 KiB a message may have) and puts them back together.
  await t.test('client messages up to 16 KiB arrive whole or in fragments; longer ones close', async () => {
    const admin = await connect({ token: T.tok.adminA });
    const rooms = Array.from({ length: 32 }, (_, i) => `branch:${i % 2 ? T.a2 : T.a1}`);
    const big = { type: 'subscribe', rooms, pad: 'x'.repeat(14000) };
    admin.send(big);
    let m = await admin.next((x) => x.type === 'subscribed');
    assert.deepEqual(m.rooms, [`branch:${T.a1}`, `branch:${T.a2}`]);
    // The same size cut into websocket fragments of 1,000 bytes.
    const text = JSON.stringify({ ...big, rooms: [`branch:${T.a1}`] });
    assert.ok(text.length > 14000 && text.length <= 16384);
    let n = admin.msgs.length;
    for (let i = 0; i < text.length; i += 1000) {
      admin.ws.send(text.slice(i, i + 1000), { fin: i + 1000 >= text.length });
    }
    m = await admin.next((x) => x.type === 'subscribed', { from: n });
    assert.deepEqual(m.rooms, [`branch:${T.a1}`]);
    n = admin.msgs.length;
    admin.send({ type: 'ping' });
    await admin.next((x) => x.type === 'pong', { from: n });
    await w.rename(s, T.tok.adminA, P.a1, 'After long messages');
    m = await admin.next((x) => x.type === 'event');
    assert.equal(m.room, `branch:${T.a1}`);
    // One byte over 16 KiB: closed with 1009 (message too big).
    const over = JSON.stringify({ type: 'ping', pad: '' });
    admin.ws.send(JSON.stringify({ type: 'ping', pad: 'y'.repeat(16385 - over.length) }));
    await h.waitFor(() => admin.closed, { what: 'close after an over-long message' });
    assert.equal(admin.closed.code, 1009);
  });

  await t.test('since replays exactly the missed events after a disconnect', async () => {
    let viewer = await connect({ token: T.tok.viewerA1 });
    await w.rename(s, T.tok.adminA, P.a1, 'Seen live');
    const seen = await viewer.next((m) => m.type === 'event');
    await viewer.close();
    const a2b = k.addPrinter(db, T.A.companyId, T.a2, 'Bar three');
    await w.rename(s, T.tok.adminA, P.a1, 'Missed one');
    await w.rename(s, T.tok.adminA, a2b, 'Other branch');
    await w.rename(s, T.tok.adminA, P.a1, 'Missed two');
    // As the page does: the first message after the welcome is the subscribe.
    viewer = await connect({ token: T.tok.viewerA1, held: true });
    viewer.send({ type: 'subscribe', rooms: [`branch:${T.a1}`], since: seen.id });
    await viewer.next((m) => m.type === 'subscribed');
    await viewer.next((m) => m.type === 'event' && m.data.printer.displayName === 'Missed two');
    await w.rename(s, T.tok.adminA, P.a1, 'Live again');
    await viewer.next((m) => m.type === 'event' && m.data.printer.displayName === 'Live again');
    const ev = viewer.events();
    assert.deepEqual(ev.map((e) => e.data.printer.displayName), ['Missed one', 'Missed two', 'Live again']);
    assert.ok(ev[0].id > seen.id && ev[0].id < ev[1].id && ev[1].id < ev[2].id);
    // Events that reached the connection live before its subscribe are not
    // sent again by the replay, so the order holds: change one now, then ask
    // for everything since before it.
    const n = viewer.msgs.length;
    await w.rename(s, T.tok.adminA, P.a1, 'Live before subscribe');
    await viewer.next((m) => m.type === 'event' && m.data.printer.displayName === 'Live before subscribe', { from: n });
    viewer.send({ type: 'subscribe', since: seen.id });
    await viewer.next((m) => m.type === 'subscribed', { from: n });
    await w.rename(s, T.tok.adminA, P.a1, 'After resubscribe');
    await viewer.next((m) => m.type === 'event' && m.data.printer.displayName === 'After resubscribe', { from: n });
    const again = viewer.events();
    assert.deepEqual(again.slice(3).map((e) => e.data.printer.displayName),
      ['Live before subscribe', 'After resubscribe']);
    for (let i = 1; i < again.length; i++) assert.ok(again[i].id > again[i - 1].id);
    // The company admin replays the other branch's event too.
    const admin = await connect({ token: T.tok.adminA });
    admin.send({ type: 'subscribe', since: seen.id });
    await admin.next((m) => m.type === 'event' && m.data.printer.displayName === 'Live again');
    assert.deepEqual(admin.events().map((e) => e.data.printer.displayName),
      ['Missed one', 'Other branch', 'Missed two', 'Live again', 'Live before subscribe',
        'After resubscribe']);
    await Promise.all([viewer.close(), admin.close()]);
  });

  await t.test('a rolled-back write emits nothing', async () => {
    const admin = await connect({ token: T.tok.adminA });
    const missing = '00000000-0000-4000-8000-000000000001';
    let r = await h.api(s, 'PATCH', `/api/v1/printing/printers/${missing}`,
      { headers: k.bearer(T.tok.adminA), body: { displayName: 'x' } });
    assert.equal(r.status, 404);
    r = await h.api(s, 'PATCH', `/api/v1/printing/printers/${P.a1}`,
      { headers: k.bearer(T.tok.adminA), body: { role: 'nonsense' } });
    assert.equal(r.status, 422);
    // A row and its NOTIFY inside a transaction that rolls back.
    const before = db.count('printer_events');
    db.exec(`BEGIN; INSERT INTO printer_events (company_id, branch_id, type, payload)
      VALUES ('${T.A.companyId}', '${T.a1}', 'printer:updated', '{"ghost":true}');
      SELECT pg_notify('printmaster_events', '999999'); ROLLBACK;`);
    assert.equal(db.count('printer_events'), before);
    await w.rename(s, T.tok.adminA, P.a1, 'After rollback');
    const m = await admin.next((x) => x.type === 'event');
    assert.equal(m.data.printer.displayName, 'After rollback');
    assert.equal(admin.events().length, 1);
    await admin.close();
  });

  await t.test('Origin: foreign browser origins are refused, our own accepted', async () => {
    await assert.rejects(connect({ token: T.tok.adminA, origin: 'http://evil.example' }),
      (e) => e.refused === true);
    const own = await connect({ token: T.tok.adminA, origin: `http://127.0.0.1:${s.port}` });
    assert.equal(own.welcome.role, 'admin');
    await own.close();
    const metrics = await h.api(s, 'GET', '/metrics');
    assert.match(metrics.text, /printmaster_ws_refused_total [1-9]/);
  });

  await t.test('bad or missing credentials are refused', async () => {
    await assert.rejects(connect({}), (e) => e.refused === true);
    await assert.rejects(connect({ token: 'not-a-token' }), (e) => e.code === 4401);
    await assert.rejects(connect({ token: 'pmk_' + 'A'.repeat(43) }), (e) => e.code === 4401);
  });

  await t.test('agents: presence, stats, scan and test-print', async () => {
    const admin = await connect({ token: T.tok.adminA });
    const viewerA2 = await connect({ token: T.tok.viewerA2 });
    const agent = await connect({ token: T.agentKey });
    agent.send({ type: 'hello', hostname: 'till-host', version: '1.2.3' });
    const online = await admin.next((m) => m.event === 'agent:online');
    assert.deepEqual(online.data, { agentId: T.agentId, name: 'till-1', hostname: 'till-host', version: '1.2.3' });
    assert.equal(online.room, `company:${T.A.companyId}`);
    let r = await h.api(s, 'GET', '/api/v1/printing/agents', { headers: k.bearer(T.tok.adminA) });
    assert.equal(r.status, 200);
    assert.equal(r.json.agents.length, 1);
    assert.equal(r.json.agents[0].online, true);
    assert.equal(r.json.agents[0].hostname, 'till-host');
    assert.equal(r.json.agents[0].branchId, T.a1);
    r = await h.api(s, 'GET', '/api/v1/printing/agents', { headers: k.bearer(T.tok.adminB) });
    assert.deepEqual(r.json.agents, []);

    // stats over the socket
    agent.send({ type: 'stats', stats: { queueSize: 2, synced: 40, failed: 1, batches: 9 } });
    const st = await admin.next((m) => m.event === 'printer:sync:stats');
    assert.deepEqual(st.data, { agentId: T.agentId, stats: { queueSize: 2, synced: 40, failed: 1, batches: 9 } });
    r = await h.api(s, 'GET', '/api/v1/printing/agents', { headers: k.bearer(T.tok.viewerA1) });
    assert.deepEqual(r.json.agents[0].stats, { queueSize: 2, synced: 40, failed: 1, batches: 9 });
    // ... and the HTTP fallback
    r = await h.api(s, 'POST', '/api/v1/printing/agents/me/stats',
      { headers: k.bearer(T.agentKey), body: { stats: { queueSize: 0, synced: 41 } } });
    assert.equal(r.status, 204);
    await admin.next((m) => m.event === 'printer:sync:stats' && m.data.stats.synced === 41);
    r = await h.api(s, 'POST', '/api/v1/printing/agents/me/stats',
      { headers: k.bearer(T.tok.adminA), body: { stats: {} } });
    assert.equal(r.status, 403);
    r = await h.api(s, 'POST', '/api/v1/printing/agents/me/stats',
      { headers: k.bearer(T.agentKey), body: { stats: { nested: { a: 1 } } } });
    assert.equal(r.status, 422);
    r = await h.api(s, 'GET', '/api/v1/printing/sync/stats', { headers: k.bearer(T.tok.adminA) });
    assert.equal(r.status, 200);
    assert.equal(r.json.agents, 1);
    assert.equal(r.json.online, 1);
    assert.equal(typeof r.json.printers, 'number');

    // commands
    r = await h.api(s, 'POST', '/api/v1/printing/scan', { headers: k.bearer(T.tok.adminA), body: { branchId: T.a1 } });
    assert.equal(r.status, 202);
    assert.equal(r.json.agents, 1);
    let cmd = await agent.next((m) => m.type === 'command' && m.requestId === r.json.requestId);
    assert.equal(cmd.command, 'scan');
    agent.send({ type: 'command-result', requestId: cmd.requestId, ok: true, message: 'found 1' });
    r = await h.api(s, 'POST', `/api/v1/printing/agents/${T.agentId}/scan`, { headers: k.bearer(T.agentKey) });
    assert.equal(r.status, 202);
    cmd = await agent.next((m) => m.type === 'command' && m.requestId === r.json.requestId);
    assert.equal(cmd.command, 'scan');
    r = await h.api(s, 'POST', `/api/v1/printing/printers/${P.a1}/test-print`, { headers: k.bearer(T.tok.adminA) });
    assert.equal(r.status, 202);
    assert.deepEqual(Object.keys(r.json).sort(), ['agents', 'requestId']);
    cmd = await agent.next((m) => m.type === 'command' && m.requestId === r.json.requestId);
    assert.equal(cmd.command, 'test-print');
    assert.equal(cmd.printer.id, P.a1);
    r = await h.api(s, 'POST', `/api/v1/printing/printers/${P.a1}/test-print`, { headers: k.bearer(T.tok.viewerA1) });
    assert.equal(r.status, 403);
    r = await h.api(s, 'POST', '/api/v1/printing/scan', { headers: k.bearer(T.tok.adminA), body: { branchId: T.a2 } });
    assert.equal(r.status, 409);
    assert.equal(r.json.error.code, 'no_agent');
    r = await h.api(s, 'POST', '/api/v1/printing/scan', { headers: k.bearer(T.tok.adminA), body: { branchId: T.b1 } });
    assert.equal(r.status, 403);
    r = await h.api(s, 'POST', `/api/v1/printing/printers/${P.b1}/test-print`, { headers: k.bearer(T.tok.adminA) });
    assert.equal(r.status, 404);
    // Branch a2 heard none of the agent's events.
    assert.deepEqual(viewerA2.events(), []);

    // offline
    await agent.close();
    const off = await admin.next((m) => m.event === 'agent:offline');
    assert.equal(off.data.agentId, T.agentId);
    r = await h.api(s, 'GET', '/api/v1/printing/agents', { headers: k.bearer(T.tok.adminA) });
    assert.equal(r.json.agents[0].online, false);
    r = await h.api(s, 'POST', '/api/v1/printing/scan', { headers: k.bearer(T.tok.adminA), body: { branchId: T.a1 } });
    assert.equal(r.status, 409);
    const metrics = (await h.api(s, 'GET', '/metrics')).text;
    assert.match(metrics, /printmaster_ws_agents 0\n/);
    assert.match(metrics, /printmaster_ws_events_delivered_total [1-9]/);
    await Promise.all([admin.close(), viewerA2.close()]);
  });

  await t.test('the listener reconnects and catches up from the last event it saw', async () => {
    const admin = await connect({ token: T.tok.adminA });
    const killed = db.query(`SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity
      WHERE datname = current_database() AND application_name = 'printmaster-listener'`);
    assert.equal(killed.length, 1);
    await w.rename(s, T.tok.adminA, P.a1, 'While away 1');
    await w.rename(s, T.tok.adminA, P.a1, 'While away 2');
    await admin.next((m) => m.type === 'event' && m.data.printer.displayName === 'While away 2',
      { timeout: 10000 });
    assert.deepEqual(admin.events().map((e) => e.data.printer.displayName), ['While away 1', 'While away 2']);
    const mt = (await h.api(s, 'GET', '/metrics')).text;
    assert.match(mt, /^printmaster_listener_reconnects_total 1$/m);
    await admin.close();
  });

  await t.test('shutdown with clients connected is clean and marks agents offline', async () => {
    const admin = await connect({ token: T.tok.adminA });
    const agent = await connect({ token: T.agentKey });
    agent.send({ type: 'hello', hostname: 'till-host', version: '1.2.4' });
    await admin.next((m) => m.event === 'agent:online' && m.data.version === '1.2.4');
    const before = db.count('printer_events', "type = 'agent:offline'");
    const exit = await s.stop();
    assert.equal(exit.code, 0);
    assert.equal(db.count('printer_events', "type = 'agent:offline'"), before + 1);
    assert.equal(db.one(`SELECT online_instance FROM agents WHERE id = '${T.agentId}'`).online_instance, null);
    await h.waitFor(() => admin.closed && agent.closed, { what: 'clients closed by the shutdown' });
  });
});
