// wskit.js: websocket clients for the gateway tests (node `ws`), and a tenant
// with users, agent keys and printers made through the real admin CLI and login.
'use strict';
const WebSocket = require('ws');
const h = require('./harness');
const k = require('./authkit');

const PW = 'correct horse battery';

// Connect to /ws. Resolves { ws, msgs, welcome, next(pred), events(), close() }
// once the welcome arrives; rejects with { refused, code } when the server
// refuses the handshake or closes before welcoming. The server holds live
// events until a new connection's first message (or 1 s); unless `held`, a
// ping is sent and answered first, so events flow live from then on.
function connect(server, { token, cookie, query, origin, headers = {}, held = false } = {}) {
  const h2 = { ...headers };
  if (token) h2.Authorization = `Bearer ${token}`;
  if (cookie) h2.Cookie = `pm_session=${cookie}`;
  if (origin) h2.Origin = origin;
  const url = `ws://127.0.0.1:${server.port}/ws${query ? '?' + query : ''}`;
  const ws = new WebSocket(url, { headers: h2 });
  const c = { ws, msgs: [], waiters: [], closed: null };
  ws.on('message', (data) => {
    const m = JSON.parse(data.toString());
    c.msgs.push(m);
    for (const w of [...c.waiters]) w();
  });
  ws.on('close', (code) => { c.closed = { code }; for (const w of [...c.waiters]) w(); });
  // Wait for the first message after position `from` matching pred.
  c.next = (pred, { timeout = 5000, from = 0 } = {}) => new Promise((resolve, reject) => {
    const check = () => {
      const m = c.msgs.slice(from).find(pred);
      if (m) { done(); resolve(m); return true; }
      if (c.closed) { done(); reject(new Error(`closed (${c.closed.code}) while waiting`)); return true; }
      return false;
    };
    const timer = setTimeout(() => {
      done();
      const tail = c.msgs.slice(-3).map((x) => `${x.type}${x.event ? ' ' + x.event : ''}${x.id ? ' #' + x.id : ''}`);
      reject(new Error(`timeout after ${c.msgs.length} messages, last: ${tail.join(', ')}`));
    }, timeout);
    const done = () => { clearTimeout(timer); c.waiters = c.waiters.filter((w) => w !== check); };
    c.waiters.push(check);
    check();
  });
  c.events = () => c.msgs.filter((m) => m.type === 'event');
  c.send = (m) => ws.send(JSON.stringify(m));
  c.close = () => new Promise((resolve) => {
    if (c.closed) { resolve(); return; }
    ws.once('close', () => resolve());
    ws.close();
  });
  return new Promise((resolve, reject) => {
    ws.once('unexpected-response', (req, res) => reject(Object.assign(new Error('refused'), { refused: true, status: res.statusCode })));
    ws.once('error', (e) => { if (!c.closed) reject(Object.assign(e, { refused: true })); });
    ws.once('close', (code) => reject(Object.assign(new Error(`closed ${code}`), { code })));
    c.next((m) => m.type === 'welcome').then(async (w) => {
      c.welcome = w;
      if (!held) {
        c.send({ type: 'ping' });
        await c.next((m) => m.type === 'pong');
      }
      resolve(c);
    }).catch(reject);
  });
}

// Company A (branches a1, a2) and company B (branch b1); users, an agent key for
// a1, one printer per branch; session tokens from the real login.
async function tenants(db, server) {
  const A = h.seedTenant(db, { company: 'Alpha', branches: ['A1', 'A2'] });
  const B = h.seedTenant(db, { company: 'Beta', branches: ['B1'] });
  const [a1, a2] = A.branchIds;
  const [b1] = B.branchIds;
  const user = (company, branch, email, role) => k.adminOk(db, ['user', 'create',
    '--company', company, ...(branch ? ['--branch', branch] : []), '--email', email,
    '--role', role], { input: PW + '\n' });
  user(A.companyId, null, 'admin@alpha.test', 'admin');
  user(A.companyId, a1, 'viewer.a1@alpha.test', 'viewer');
  user(A.companyId, a2, 'viewer.a2@alpha.test', 'viewer');
  user(B.companyId, null, 'admin@beta.test', 'admin');
  const agentKey = k.adminOk(db, ['agent', 'create', '--branch', a1, 'till-1']);
  const agentId = db.one("SELECT id FROM agents WHERE name = 'till-1'").id;
  return {
    A, B, a1, a2, b1, agentKey, agentId,
    printers: {
      a1: k.addPrinter(db, A.companyId, a1, 'Kitchen'),
      a2: k.addPrinter(db, A.companyId, a2, 'Bar'),
      b1: k.addPrinter(db, B.companyId, b1, 'Receipt'),
    },
    tok: {
      adminA: await k.login(server, 'admin@alpha.test', PW),
      viewerA1: await k.login(server, 'viewer.a1@alpha.test', PW),
      viewerA2: await k.login(server, 'viewer.a2@alpha.test', PW),
      adminB: await k.login(server, 'admin@beta.test', PW),
    },
  };
}

// A PATCH that writes one printer:updated event; asserts 200.
async function rename(server, token, id, name) {
  const r = await h.api(server, 'PATCH', `/api/v1/printing/printers/${id}`,
    { headers: k.bearer(token), body: { displayName: name } });
  if (r.status !== 200) throw new Error(`PATCH ${id}: ${r.status} ${r.text}`);
  return r.json;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

module.exports = { connect, tenants, rename, sleep, PW };
