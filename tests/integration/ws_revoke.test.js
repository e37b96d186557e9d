// ws_revoke.test.js: revocation reaches open websockets on every instance. Two
// instances on one database; each revoked credential's socket (on the other
// instance than the one that saw the change) is closed with 4401 within 2 s and
// gets no event written after the change; other sockets stay and keep getting
// events; REST refuses the credential at once too.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const h = require('../lib/harness');
const k = require('../lib/authkit');
const w = require('../lib/wskit');

test('revoked credentials lose their open websockets on every instance', async (t) => {
  const db = await h.createDatabase();
  const secret = crypto.randomBytes(32).toString('base64');
  const sA = await h.startServer({ db, env: { PRINTMASTER_SESSION_SECRET: secret } });
  const sB = await h.startServer({ db, env: { PRINTMASTER_SESSION_SECRET: secret } });
  t.after(() => Promise.all([sA.stop(), sB.stop()]));
  const T = await w.tenants(db, sA);
  const clients = [];
  const connect = async (s, o) => { const c = await w.connect(s, o); clients.push(c); return c; };
  t.after(() => Promise.all(clients.map((c) => c.close())));
  const maxEvent = () => Number(db.one('SELECT coalesce(max(id), 0) AS m FROM printer_events').m);

  // The watcher stays connected through everything and sees every event.
  const watcher = await connect(sA, { token: T.tok.adminA });
  let n = 0;
  async function expectClosed(c, what) {
    const at = maxEvent();
    const t0 = Date.now();
    await h.waitFor(() => c.closed, { timeout: 2000, interval: 20, what: `${what}: socket closed` });
    assert.equal(c.closed.code, 4401, `${what}: close code`);
    assert.ok(Date.now() - t0 < 2000);
    // Something happens after the change: the watcher gets it, the revoked does not.
    await w.rename(sA, T.tok.adminA, T.printers.a1, `after ${what} ${++n}`);
    await watcher.next((m) => m.type === 'event' && m.data.printer &&
      m.data.printer.displayName === `after ${what} ${n}`);
    assert.ok(c.events().every((e) => e.id <= at), `${what}: no event after the change`);
  }

  // A user revoked from the CLI: the socket on B closes.
  const viewer = await connect(sB, { token: T.tok.viewerA1 });
  const viewerId = db.one("SELECT id FROM users WHERE email = 'viewer.a1@alpha.test'").id;
  k.adminOk(db, ['user', 'revoke', viewerId]);
  await expectClosed(viewer, 'user revoke');
  assert.equal((await h.api(sA, 'GET', '/api/v1/auth/me', { headers: k.bearer(T.tok.viewerA1) })).status, 401);

  // Logout of all sessions through A: the same user's socket on B closes; a new
  // session made afterwards works.
  const session2 = await k.login(sA, 'viewer.a2@alpha.test', w.PW);
  const other = await connect(sB, { token: T.tok.viewerA2 });
  let r = await h.api(sA, 'POST', '/api/v1/auth/logout', { headers: k.bearer(session2), body: { all: true } });
  assert.ok(r.status === 200 || r.status === 204, `logout all: ${r.status}`);
  await expectClosed(other, 'logout all');
  const session3 = await k.login(sA, 'viewer.a2@alpha.test', w.PW);
  const again = await connect(sB, { token: session3 });
  assert.equal(again.welcome.role, 'viewer');

  // An agent revoked: its socket on B closes.
  const agent = await connect(sB, { token: T.agentKey });
  k.adminOk(db, ['agent', 'revoke', T.agentId]);
  await expectClosed(agent, 'agent revoke');
  assert.equal((await h.api(sB, 'GET', '/api/v1/auth/me', { headers: k.bearer(T.agentKey) })).status, 401);

  // A company revoked: its admin's sockets close on both instances; the other
  // company's admin is untouched.
  const bOnA = await connect(sA, { token: T.tok.adminB });
  const bOnB = await connect(sB, { token: T.tok.adminB });
  k.adminOk(db, ['company', 'revoke', T.B.companyId]);
  await expectClosed(bOnA, 'company revoke (A)');
  await expectClosed(bOnB, 'company revoke (B)');
  assert.equal(watcher.closed, null);
  assert.equal(again.closed, null);
  assert.equal((await h.api(sB, 'GET', '/api/v1/auth/me', { headers: k.bearer(T.tok.adminB) })).status, 401);

  // A session token that ends 3 s from now (signed with the servers' key): its
  // socket closes with 4401 within 2 s of the end and gets nothing after it.
  const adminAId = db.one("SELECT id FROM users WHERE email = 'admin@alpha.test'").id;
  const exp = Math.floor(Date.now() / 1000) + 3;
  const short = k.signToken(Buffer.from(secret, 'base64'), { bid: null, cid: T.A.companyId,
    role: 'admin', sub: adminAId, ver: 1, exp });
  const ending = await connect(sB, { token: short });
  assert.equal(ending.welcome.role, 'admin');
  await h.waitFor(() => ending.closed, { timeout: 6000, interval: 20, what: 'the expired session closed' });
  assert.equal(ending.closed.code, 4401);
  assert.ok(Date.now() / 1000 < exp + 2, 'closed within 2 s of the end');
  const at = maxEvent();
  await w.rename(sA, T.tok.adminA, T.printers.a1, 'after expiry');
  await watcher.next((m) => m.type === 'event' && m.data.printer && m.data.printer.displayName === 'after expiry');
  assert.ok(ending.events().every((e) => e.id <= at));
});
