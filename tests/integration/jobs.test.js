// jobs.test.js: print jobs end to end. The real server and agent; printers
// simulated by loopback listeners that record each connection's bytes; the
// agent finds them with its netscan source, so the server knows which agent
// sees which printer. Raw bytes arrive exactly once, states and events in
// order, an agent offline at creation, SIGKILL between accepted and printing,
// a printer that refuses connections, idempotency, cancel, expiry, bad input,
// and the tenancy matrix of every jobs endpoint.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const net = require('node:net');
const h = require('../lib/harness');
const k = require('../lib/authkit');
const sim = require('./sync_helpers');

let db, server;
const MAX_JOB = 65536;

test.before(async () => {
  db = await h.createDatabase();
  server = await h.startServer({ db, env: { PRINTMASTER_MAX_JOB_BYTES: String(MAX_JOB) } });
});
test.after(async () => { await server.stop(); });

// A raw printer: a listener that keeps every connection's bytes apart
// (netscan's probes connect and send nothing).
async function rawPrinter(host, port) {
  const conns = [];
  const srv = net.createServer((c) => {
    const rec = { chunks: [] };
    conns.push(rec);
    c.on('data', (d) => rec.chunks.push(d));
    c.on('error', () => {});
  });
  await new Promise((resolve, reject) => { srv.once('error', reject); srv.listen(port, host, resolve); });
  return {
    host, port,
    jobs: () => conns.map((r) => Buffer.concat(r.chunks)).filter((b) => b.length > 0),
    close: () => new Promise((r) => { srv.close(r); for (const s of srv._connections ? [] : []) s.destroy(); }),
  };
}

function apikey(tenantIds, name, branch) {
  return k.adminOk(db, ['apikey', 'create', '--company', tenantIds.companyId,
    ...(branch ? ['--branch', branch] : []), name]);
}

const b64 = (buf) => Buffer.from(buf).toString('base64');
const job = (id) => db.one(`SELECT state, reason, agent_id, accepted_at FROM print_jobs WHERE id = '${id}'`);
const events = (jobId) => db.query(`SELECT type FROM printer_events
  WHERE payload->'job'->>'id' = '${jobId}' ORDER BY id`).map((r) => r.type);

// A company with a branch, its admin, an agent key and a pmi_ key, a raw
// printer on a subnet of our own found by a running agent.
async function scene(name, agentExtra = {}) {
  const t = await k.tenant(db, server, { company: name });
  const pmi = apikey(t, `${name} POS`);
  const sub = sim.subnet();
  const port = await h.freePort();
  const p = await rawPrinter(`${sub.base}.1`, port);
  const spool = sim.tmpSpool();
  const opts = { url: server.url, key: t.agentKeys[0], cidr: `${sub.base}.1/32`, port, spool,
    extra: agentExtra };
  const agent = sim.startAgent(opts);
  const agentId = db.one(`SELECT id FROM agents WHERE branch_id = '${t.branchId}'`).id;
  const printerId = await h.waitFor(() => {
    const r = db.query(`SELECT id FROM printers WHERE branch_id = '${t.branchId}'
      AND sources->'agents' ? '${agentId}'`);
    return r.length === 1 && r[0].id;
  }, { what: 'the agent reports the printer' });
  await h.waitFor(() => /websocket connected/.test(agent.log()), { what: 'agent websocket' });
  return { t, pmi, sub, port, p, spool, opts, agent, agentId, printerId };
}

async function post(headers, printerId, body, extra = {}) {
  return h.api(server, 'POST', `/api/v1/printing/printers/${printerId}/jobs`,
    { headers: { ...headers, ...extra }, body });
}

async function waitState(id, state, what) {
  return h.waitFor(() => job(id).state === state && job(id), { timeout: 15000, what: what || `job ${state}` });
}

test('a job created through another instance reaches an idle dispatcher (its listener ' +
     'hands on the notification)', async () => {
  // First in this file: no job is open anywhere yet, so this instance's
  // dispatcher has stopped looking and only a notification wakes it.
  const s = await scene('Jobs Elsewhere');
  const s2 = await h.startServer({ db });
  try {
    await new Promise((res) => setTimeout(res, 1500));
    const r = await h.api(s2, 'POST', `/api/v1/printing/printers/${s.printerId}/jobs`,
      { headers: k.bearer(s.pmi), body: { contentType: 'raw', content: b64('via s2') } });
    assert.equal(r.status, 202);
    await h.waitFor(() => job(r.json.id).state === 'printed', { timeout: 8000, what: 'printed' });
    await h.waitFor(() => s.p.jobs().length > 0, { what: 'bytes' });
    assert.deepEqual(s.p.jobs().map(String), ['via s2']);
  } finally {
    await s2.stop();
    await s.agent.stop();
    await s.p.close();
  }
});

test('a raw job: the exact bytes reach the loopback printer once; queued, sent, printed ' +
     'in order, live on the websocket; metrics', async () => {
  const s = await scene('Jobs Raw');
  try {
    // Larger than one websocket send (16 KiB) and lws's receive buffer.
    const bytes = Buffer.concat([Buffer.from([0x1b, 0x40, 0x00, 0xff, 0x0a]), crypto.randomBytes(60000)]);
    const ws = await require('../lib/wskit').connect(server, { token: s.t.adminToken });
    const r = await post(k.bearer(s.pmi), s.printerId,
      { title: 'Order 17', contentType: 'raw', content: b64(bytes) });
    assert.equal(r.status, 202, r.text);
    assert.equal(r.json.status, 'queued');
    assert.equal(r.json.printerId, s.printerId);
    assert.equal(r.json.size, bytes.length);
    assert.equal(r.json.copies, 1);
    assert.equal(r.json.content, undefined, 'content is not echoed');
    await waitState(r.json.id, 'printed');
    assert.equal(job(r.json.id).agent_id, s.agentId);
    const got = await h.waitFor(() => s.p.jobs().length > 0 && s.p.jobs(), { what: 'bytes' });
    assert.equal(got.length, 1, 'one connection carried data');
    assert.ok(got[0].equals(bytes), 'the exact bytes');
    assert.deepEqual(events(r.json.id), ['job:queued', 'job:sent', 'job:printed']);
    const live = await ws.next((m) => m.event === 'job:printed' && m.data.job.id === r.json.id);
    assert.equal(live.room, `company:${s.t.companyId}`);
    assert.deepEqual(ws.events().filter((m) => m.data.job && m.data.job.id === r.json.id)
      .map((m) => m.event), ['job:queued', 'job:sent', 'job:printed']);
    await ws.close();
    const one = await h.api(server, 'GET', `/api/v1/printing/jobs/${r.json.id}`, { headers: k.bearer(s.pmi) });
    assert.equal(one.status, 200);
    assert.equal(one.json.status, 'printed');
    assert.ok(one.json.finishedAt);
    // Nothing more arrives later (no second delivery).
    await new Promise((res) => setTimeout(res, 1500));
    assert.equal(s.p.jobs().length, 1);
    const m = await h.api(server, 'GET', '/metrics');
    assert.match(m.text, /printmaster_jobs_total\{state="printed"\} [1-9]/);
    assert.match(m.text, /printmaster_job_queued_to_printed_seconds_count [1-9]/);
    // text becomes printable lines for a raw printer; copies are whole documents.
    const t2 = await post(s.t.admin, s.printerId,
      { contentType: 'text', content: b64('Table 4\r\n2x soup\x07\r\nthanks'), copies: 2 });
    assert.equal(t2.status, 202, t2.text);
    await waitState(t2.json.id, 'printed');
    await h.waitFor(() => s.p.jobs().length === 3, { what: 'two copies' });
    assert.deepEqual(s.p.jobs().slice(1).map(String), ['Table 4\n2x soup\nthanks\n',
      'Table 4\n2x soup\nthanks\n']);
  } finally {
    await s.agent.stop();
    await s.p.close();
  }
});

test('an agent offline when the job is created: it stays queued, then prints when the ' +
     'agent connects', async () => {
  const s = await scene('Jobs Offline');
  try {
    assert.equal((await s.agent.stop()).code, 0);
    await h.waitFor(() => !db.one(`SELECT online_instance FROM agents WHERE id = '${s.agentId}'`)
      .online_instance, { what: 'agent offline' });
    const r = await post(k.bearer(s.pmi), s.printerId, { contentType: 'raw', content: b64('hello') });
    assert.equal(r.status, 202);
    await new Promise((res) => setTimeout(res, 2000));
    assert.equal(job(r.json.id).state, 'queued');
    s.agent = sim.startAgent(s.opts);
    await waitState(r.json.id, 'printed');
    await h.waitFor(() => s.p.jobs().length > 0, { what: 'bytes' });
    assert.deepEqual(s.p.jobs().map(String), ['hello']);
    assert.deepEqual(events(r.json.id), ['job:queued', 'job:sent', 'job:printed']);
  } finally {
    await s.agent.stop();
    await s.p.close();
  }
});

test('the agent SIGKILLed after accepted and before printing, then restarted: the job ' +
     'prints exactly once', async () => {
  const s = await scene('Jobs Kill', { PRINTMASTER_JOB_PRINT_DELAY_MS: '60000' });
  try {
    const r = await post(k.bearer(s.pmi), s.printerId, { contentType: 'raw', content: b64('once only') });
    assert.equal(r.status, 202);
    await h.waitFor(() => job(r.json.id).accepted_at, { what: 'accepted' });
    await h.waitFor(() => /job \S+ spooled/.test(s.agent.log()), { what: 'spooled' });
    await s.agent.stop('SIGKILL');
    assert.equal(s.p.jobs().length, 0, 'not printed before the kill');
    assert.equal(job(r.json.id).state, 'sent');
    s.agent = sim.startAgent({ ...s.opts, extra: {} });
    await waitState(r.json.id, 'printed');
    await new Promise((res) => setTimeout(res, 1500));
    assert.deepEqual(s.p.jobs().map(String), ['once only']);
    assert.deepEqual(events(r.json.id), ['job:queued', 'job:sent', 'job:printed']);
  } finally {
    await s.agent.stop();
    await s.p.close();
  }
});

test('a job offered to an agent that leaves without accepting moves to another agent that ' +
     'sees the printer; the first may not print it later', async () => {
  const s = await scene('Jobs Move');
  const wskit = require('../lib/wskit');
  try {
    assert.equal((await s.agent.stop()).code, 0);
    // A second agent of the branch (a websocket client here) reports the same printer.
    const keyA = sim.agentKey(db, s.t.branchId, 'till 2');
    const agentA = db.one(`SELECT id FROM agents WHERE name = 'till 2' AND branch_id = '${s.t.branchId}'`).id;
    const b = await h.api(server, 'POST', '/api/v1/printing/printers/bulk', { headers: k.bearer(keyA),
      body: { printers: [{ name: 'Till', address: s.p.host, port: s.port, protocol: 'raw' }] } });
    assert.equal(b.json.results[0].id, s.printerId, 'the same printer');
    let a = await wskit.connect(server, { token: keyA });
    a.send({ type: 'hello', hostname: 'till-2', version: 'test' });
    const r = await post(k.bearer(s.pmi), s.printerId, { contentType: 'raw', content: b64('moved') });
    const offer = await a.next((m) => m.type === 'job', { timeout: 5000 });
    assert.equal(offer.job.id, r.json.id);
    assert.equal(Buffer.from(offer.job.content, 'base64').toString(), 'moved');
    assert.equal(job(r.json.id).agent_id, agentA);
    await a.close();	// gone without an answer
    await h.waitFor(() => job(r.json.id).state === 'queued', { what: 'put back' });
    s.agent = sim.startAgent(s.opts);
    const row = await waitState(r.json.id, 'printed');
    assert.equal(row.agent_id, s.agentId);
    await h.waitFor(() => s.p.jobs().length > 0, { what: 'bytes' });
    assert.deepEqual(s.p.jobs().map(String), ['moved']);
    assert.deepEqual(events(r.json.id), ['job:queued', 'job:sent', 'job:queued', 'job:sent', 'job:printed']);
    // The first agent comes back having spooled it after all: no go-ahead.
    a = await wskit.connect(server, { token: keyA });
    a.send({ type: 'job-result', id: r.json.id, state: 'accepted' });
    const ack = await a.next((m) => m.type === 'job-ack');
    assert.deepEqual([ack.id, ack.print], [r.json.id, false]);
    a.send({ type: 'job-result', id: r.json.id, state: 'failed', reason: 'late' });
    a.send({ type: 'job-result', id: 'nope', state: 'printed' });
    await a.next((m) => m.type === 'error' && m.code === 'bad_request');
    await a.close();
    assert.equal(job(r.json.id).state, 'printed');
  } finally {
    await s.agent.stop();
    await s.p.close();
  }
});

test('a printer refusing connections: failed with the reason; the agent keeps working',
  async () => {
    const s = await scene('Jobs Refused');
    try {
      // A second printer the agent reports, at an address where nothing listens.
      const dead = `${s.sub.base}.2`;
      const b = await h.api(server, 'POST', '/api/v1/printing/printers/bulk', {
        headers: s.t.agent(0), body: { printers: [{ name: 'Dead', address: dead, port: s.port,
          protocol: 'raw', connectionType: 'network' }] } });
      assert.equal(b.status, 200, b.text);
      const deadId = b.json.results[0].id;
      const r = await post(k.bearer(s.pmi), deadId, { contentType: 'raw', content: b64('lost') });
      assert.equal(r.status, 202);
      const row = await waitState(r.json.id, 'failed');
      assert.match(row.reason, new RegExp(`connect to ${dead.replace(/\./g, '\\.')}:${s.port}: Connection refused`));
      assert.deepEqual(events(r.json.id), ['job:queued', 'job:sent', 'job:failed']);
      const g = await h.api(server, 'GET', `/api/v1/printing/jobs/${r.json.id}`, { headers: s.t.admin });
      assert.equal(g.json.status, 'failed');
      assert.equal(g.json.reason, row.reason);
      const ok = await post(k.bearer(s.pmi), s.printerId, { contentType: 'raw', content: b64('still here') });
      await waitState(ok.json.id, 'printed');
      await h.waitFor(() => s.p.jobs().length > 0, { what: 'bytes' });
      assert.deepEqual(s.p.jobs().map(String), ['still here']);
    } finally {
      await s.agent.stop();
      await s.p.close();
    }
  });

test('Idempotency-Key, list filters and paging, cancel, expiry', async () => {
  const t = await k.tenant(db, server, { company: 'Jobs Idem' });
  const pid = k.addPrinter(db, t.companyId, t.branchId, 'Kitchen');
  const pid2 = k.addPrinter(db, t.companyId, t.branchId, 'Bar');
  const body = { contentType: 'raw', content: b64('x') };
  const a = await post(t.admin, pid, body, { 'Idempotency-Key': 'order-1' });
  assert.equal(a.status, 202);
  const again = await post(t.admin, pid, body, { 'Idempotency-Key': 'order-1' });
  assert.equal(again.status, 202);
  assert.equal(again.json.id, a.json.id);
  assert.equal(again.headers.get('idempotent-replayed'), 'true');
  const other = await post(t.admin, pid, { ...body, copies: 2 }, { 'Idempotency-Key': 'order-1' });
  assert.equal(other.status, 422);
  assert.equal(other.json.error.code, 'idempotency_key_reused');
  assert.equal(db.one(`SELECT count(*)::int AS n FROM print_jobs WHERE company_id = '${t.companyId}'`).n, 1);
  const b = await post(t.admin, pid2, body);
  const c = await post(t.admin, pid2, body);
  let l = await h.api(server, 'GET', `/api/v1/printing/jobs?printerId=${pid2}`, { headers: t.admin });
  assert.deepEqual(l.json.jobs.map((j) => j.id).sort(), [b.json.id, c.json.id].sort());
  l = await h.api(server, 'GET', '/api/v1/printing/jobs?limit=2', { headers: t.admin });
  assert.equal(l.json.jobs.length, 2);
  assert.ok(l.json.next);
  const l2 = await h.api(server, 'GET', `/api/v1/printing/jobs?limit=2&after=${l.json.next}`, { headers: t.admin });
  assert.equal(l2.json.jobs.length, 1);
  assert.equal(l2.json.next, null);
  assert.equal(new Set([...l.json.jobs, ...l2.json.jobs].map((j) => j.id)).size, 3);
  // Cancel a queued job; then it is not cancellable any more.
  let d = await h.api(server, 'DELETE', `/api/v1/printing/jobs/${b.json.id}`, { headers: t.admin });
  assert.equal(d.status, 200);
  assert.equal(d.json.status, 'cancelled');
  d = await h.api(server, 'DELETE', `/api/v1/printing/jobs/${b.json.id}`, { headers: t.admin });
  assert.equal(d.status, 409);
  assert.equal(d.json.error.code, 'not_cancellable');
  assert.deepEqual(events(b.json.id), ['job:queued', 'job:cancelled']);
  l = await h.api(server, 'GET', '/api/v1/printing/jobs?status=cancelled', { headers: t.admin });
  assert.deepEqual(l.json.jobs.map((j) => j.id), [b.json.id]);
  for (const q of ['status=done', 'limit=0', 'after=x', 'printerId=12']) {
    const bad = await h.api(server, 'GET', `/api/v1/printing/jobs?${q}`, { headers: t.admin });
    assert.equal(bad.status, 400, q);
  }
  // job_ttl: a second instance with a 1 s TTL makes a job nobody takes expire
  // (an integration key: sessions are signed with each instance's own key here).
  const s2 = await h.startServer({ db, env: { PRINTMASTER_JOB_TTL: '1' } });
  try {
    const e = await h.api(s2, 'POST', `/api/v1/printing/printers/${pid}/jobs`,
      { headers: k.bearer(apikey(t, 'ttl')), body });
    assert.equal(e.status, 202);
    const row = await waitState(e.json.id, 'expired');
    assert.match(row.reason, /job_ttl/);
    assert.deepEqual(events(e.json.id), ['job:queued', 'job:expired']);
  } finally {
    await s2.stop();
  }
});

test('bad input: clear 4xx, nothing queued', async () => {
  const t = await k.tenant(db, server, { company: 'Jobs Bad', branches: ['One', 'Two'] });
  const pid = k.addPrinter(db, t.companyId, t.branchIds[0], 'Till');
  const other = k.addPrinter(db, t.companyId, t.branchIds[1], 'Other');
  db.query(`UPDATE printers SET protocol = 'raw' WHERE id = '${pid}' RETURNING id`);
  const branchKey = apikey(t, 'branch one', t.branchIds[0]);
  const cases = [
    [{ contentType: 'raw', content: '!!notbase64' }, 422, 'content'],
    [{ contentType: 'raw', content: 'YWJj' + '=' }, 422, 'content'],
    [{ contentType: 'zpl', content: b64('x') }, 422, 'contentType'],
    [{ content: b64('x') }, 422, 'contentType'],
    [{ contentType: 'raw' }, 422, 'content'],
    [{ contentType: 'raw', content: '' }, 422, 'content'],
    [{ contentType: 'raw', content: b64('x'), copies: 0 }, 422, 'copies'],
    [{ contentType: 'raw', content: b64('x'), copies: 11 }, 422, 'copies'],
    [{ contentType: 'raw', content: b64('x'), copies: 1.5 }, 422, 'copies'],
    [{ contentType: 'raw', content: b64('x'), title: '' }, 422, 'title'],
    [{ contentType: 'raw', content: b64('x'), title: 'a\u0001b' }, 422, 'title'],
    [{ contentType: 'pdf', content: b64('not a pdf') }, 422, 'content'],
    [{ contentType: 'pdf', content: b64('%PDF-1.4 ...') }, 422, 'contentType'],
    [{ contentType: 'raw', content: b64(Buffer.alloc(MAX_JOB + 1)) }, 413, null],
  ];
  for (const [body, status, field] of cases) {
    const r = await post(k.bearer(branchKey), pid, body);
    assert.equal(r.status, status, `${JSON.stringify(body).slice(0, 80)}: ${r.text}`);
    if (field) assert.ok(r.json.error.details.fields[field], `${field} named: ${r.text}`);
  }
  // Exactly max_job_bytes is fine (it is not queued for long: no agent).
  let r = await post(k.bearer(branchKey), pid, { contentType: 'raw', content: b64(Buffer.alloc(MAX_JOB)) });
  assert.equal(r.status, 202, r.text);
  db.query(`DELETE FROM print_jobs WHERE id = '${r.json.id}' RETURNING id`);
  r = await h.api(server, 'POST', `/api/v1/printing/printers/${pid}/jobs`,
    { headers: { ...k.bearer(branchKey), 'Content-Type': 'application/json' }, raw: '{"contentType":' });
  assert.equal(r.status, 400);
  r = await post(k.bearer(branchKey), pid, { contentType: 'raw', content: b64('x') },
    { 'Idempotency-Key': 'ä' });
  assert.equal(r.status, 400);
  // A printer of another branch for a branch key, and no printer at all.
  r = await post(k.bearer(branchKey), other, { contentType: 'raw', content: b64('x') });
  assert.equal(r.status, 404);
  r = await post(k.bearer(branchKey), crypto.randomUUID(), { contentType: 'raw', content: b64('x') });
  assert.equal(r.status, 404);
  r = await post(k.bearer(branchKey), 'not-an-id', { contentType: 'raw', content: b64('x') });
  assert.equal(r.status, 404);
  assert.equal(db.one(`SELECT count(*)::int AS n FROM print_jobs WHERE company_id = '${t.companyId}'`).n, 0);
});

test('tenancy: another company sees, creates and cancels nothing; viewers and agents may ' +
     'not create; a revoked pmi_ key is 401', async () => {
  const A = await k.tenant(db, server, { company: 'Jobs A', branches: ['a1', 'a2'] });
  const B = await k.tenant(db, server, { company: 'Jobs B' });
  const pa = k.addPrinter(db, A.companyId, A.branchIds[0], 'A till');
  const pa2 = k.addPrinter(db, A.companyId, A.branchIds[1], 'A bar');
  const pmiA = apikey(A, 'A POS');
  const pmiA2 = apikey(A, 'A a2 POS', A.branchIds[1]);
  const pmiB = apikey(B, 'B POS');
  const body = { contentType: 'raw', content: b64('x') };
  const j = (await post(k.bearer(pmiA), pa, body)).json;
  assert.equal(j.status, 'queued');
  const ja2 = (await post(A.admin, pa2, body)).json;
  k.adminOk(db, ['user', 'create', '--company', A.companyId, '--email', 'viewer@jobs-a.test',
    '--role', 'viewer'], { input: 'viewer password\n' });
  const viewer = k.bearer(await k.login(server, 'viewer@jobs-a.test', 'viewer password'));
  const others = { 'B admin': B.admin, 'B pmi_': k.bearer(pmiB) };
  for (const [who, hd] of Object.entries(others)) {
    let r = await h.api(server, 'GET', `/api/v1/printing/jobs/${j.id}`, { headers: hd });
    assert.equal(r.status, 404, who);
    r = await h.api(server, 'GET', '/api/v1/printing/jobs', { headers: hd });
    assert.equal(r.status, 200, who);
    assert.ok(!r.text.includes(j.id) && !r.text.includes(A.companyId), who);
    r = await h.api(server, 'GET', `/api/v1/printing/jobs?printerId=${pa}`, { headers: hd });
    assert.deepEqual(r.json.jobs, [], who);
    r = await h.api(server, 'DELETE', `/api/v1/printing/jobs/${j.id}`, { headers: hd });
    assert.equal(r.status, 404, who);
    r = await post(hd, pa, body);
    assert.equal(r.status, 404, who);
    r = await h.api(server, 'GET', `/api/v1/printing/jobs?companyId=${A.companyId}`, { headers: hd });
    assert.equal(r.status, 403, who);
  }
  // A branch key of a2 does not see a1's jobs or printers.
  let r = await h.api(server, 'GET', `/api/v1/printing/jobs/${j.id}`, { headers: k.bearer(pmiA2) });
  assert.equal(r.status, 404);
  r = await h.api(server, 'GET', '/api/v1/printing/jobs', { headers: k.bearer(pmiA2) });
  assert.deepEqual(r.json.jobs.map((x) => x.id), [ja2.id]);
  r = await h.api(server, 'DELETE', `/api/v1/printing/jobs/${j.id}`, { headers: k.bearer(pmiA2) });
  assert.equal(r.status, 404);
  // Integration keys read printers of their scope, and nothing else of the API.
  r = await h.api(server, 'GET', '/api/v1/printing/printers', { headers: k.bearer(pmiA2) });
  assert.equal(r.status, 200);
  assert.deepEqual(r.json.printers.map((p) => p.id), [pa2]);
  r = await h.api(server, 'GET', `/api/v1/printing/printers/${pa}`, { headers: k.bearer(pmiA) });
  assert.equal(r.status, 200);
  for (const [m, p] of [['PATCH', `/api/v1/printing/printers/${pa}`], ['POST', '/api/v1/printing/printers/bulk'],
    ['GET', '/api/v1/printing/agents'], ['POST', `/api/v1/printing/printers/${pa}/test-print`]]) {
    r = await h.api(server, m, p, { headers: k.bearer(pmiA), body: m === 'GET' ? undefined : {} });
    assert.equal(r.status, 403, `${m} ${p}`);
  }
  // Viewers read but may not create or cancel; agents may do neither.
  r = await post(viewer, pa, body);
  assert.equal(r.status, 403);
  r = await h.api(server, 'GET', `/api/v1/printing/jobs/${j.id}`, { headers: viewer });
  assert.equal(r.status, 200);
  r = await h.api(server, 'DELETE', `/api/v1/printing/jobs/${j.id}`, { headers: viewer });
  assert.equal(r.status, 403);
  r = await post(A.agent(0), pa, body);
  assert.equal(r.status, 403);
  r = await h.api(server, 'GET', '/api/v1/printing/jobs', { headers: A.agent(0) });
  assert.equal(r.status, 403);
  // The websocket is for people and agents: a pmi_ key is refused there.
  await assert.rejects(require('../lib/wskit').connect(server, { token: pmiA }));
  // Revoked: 401 on every endpoint, at once.
  const keyId = k.adminOk(db, ['apikey', 'list', '--company', A.companyId]).split('\n')
    .find((l) => l.includes('\tA POS\t')).split('\t')[0];
  k.adminOk(db, ['apikey', 'revoke', keyId]);
  await h.waitFor(async () => (await h.api(server, 'GET', '/api/v1/printing/jobs',
    { headers: k.bearer(pmiA) })).status === 401, { what: 'revocation reaches the server' });
  r = await post(k.bearer(pmiA), pa, body);
  assert.equal(r.status, 401);
  r = await h.api(server, 'DELETE', `/api/v1/printing/jobs/${j.id}`, { headers: k.bearer(pmiA) });
  assert.equal(r.status, 401);
  // A's admin still cancels its own job.
  r = await h.api(server, 'DELETE', `/api/v1/printing/jobs/${j.id}`, { headers: A.admin });
  assert.equal(r.status, 200);
  assert.equal(db.one(`SELECT count(*)::int AS n FROM print_jobs WHERE company_id = '${B.companyId}'`).n, 0);
});
