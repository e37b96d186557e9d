// auth_matrix.test.js: tenant isolation. Two companies with two branches each;
// every endpoint against every kind of credential, with the exact status and no
// row of a tenant outside the credential's scope in any response body.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const h = require('../lib/harness');
const k = require('../lib/authkit');

const PW = 'correct horse battery';

test('tenant isolation matrix', async (t) => {
  const db = await h.createDatabase();
  const s = await h.startServer({ db });
  t.after(() => s.stop());

  const A = h.seedTenant(db, { company: 'Alpha', branches: ['A1', 'A2'] });
  const B = h.seedTenant(db, { company: 'Beta', branches: ['B1', 'B2'] });
  const [a1, a2] = A.branchIds;
  const [b1, b2] = B.branchIds;
  const P = {
    a1: k.addPrinter(db, A.companyId, a1, 'Alpha One Receipt'),
    a2: k.addPrinter(db, A.companyId, a2, 'Alpha Two Kitchen'),
    b1: k.addPrinter(db, B.companyId, b1, 'Beta One Receipt'),
    b2: k.addPrinter(db, B.companyId, b2, 'Beta Two Kitchen'),
  };
  const user = (company, branch, email, role) => k.adminOk(db, ['user', 'create',
    '--company', company, ...(branch ? ['--branch', branch] : []), '--email', email,
    '--role', role], { input: PW + '\n' });
  const ids = {
    viewerA1: user(A.companyId, a1, 'viewer.a1@alpha.test', 'viewer'),
    adminA1: user(A.companyId, a1, 'admin.a1@alpha.test', 'admin'),
    adminA: user(A.companyId, null, 'admin@alpha.test', 'admin'),
    adminB: user(B.companyId, null, 'admin@beta.test', 'admin'),
  };
  const agentKey = k.adminOk(db, ['agent', 'create', '--branch', a1, 'till-1']);
  const revokedKey = k.adminOk(db, ['agent', 'create', '--branch', a1, 'till-old']);
  const revokedId = db.one("SELECT id FROM agents WHERE name = 'till-old'").id;
  k.adminOk(db, ['agent', 'revoke', revokedId]);

  const tok = {
    viewerA1: await k.login(s, 'viewer.a1@alpha.test', PW),
    adminA1: await k.login(s, 'admin.a1@alpha.test', PW),
    adminA: await k.login(s, 'admin@alpha.test', PW),
    adminB: await k.login(s, 'admin@beta.test', PW),
  };
  const key = k.serverKey(s);
  const claimsA = { bid: null, cid: A.companyId, role: 'admin', sub: ids.adminA, ver: 1 };
  // The forged format is right: the same forgery, unexpired, is accepted.
  const fresh = k.signToken(key, { ...claimsA, exp: Math.floor(Date.now() / 1000) + 600 });
  assert.equal((await h.api(s, 'GET', '/api/v1/auth/me', { headers: k.bearer(fresh) })).status, 200);
  const expired = k.signToken(key, { ...claimsA, exp: Math.floor(Date.now() / 1000) - 5 });
  const i = Math.floor(tok.adminA.length / 2);
  const tampered = tok.adminA.slice(0, i) + (tok.adminA[i] === 'A' ? 'B' : 'A') +
    tok.adminA.slice(i + 1);

  const everything = [A.companyId, B.companyId, a1, a2, b1, b2, ...Object.values(P)];
  const only = (...keep) => everything.filter((x) => !keep.includes(x));
  const scopeA1 = only(A.companyId, a1, P.a1);
  const scopeA = only(A.companyId, a1, a2, P.a1, P.a2);
  const scopeB = only(B.companyId, b1, b2, P.b1, P.b2);
  const creds = {
    agent: { headers: k.bearer(agentKey), foreign: scopeA1 },
    viewerA1: { headers: k.bearer(tok.viewerA1), foreign: scopeA1 },
    adminA1: { headers: k.bearer(tok.adminA1), foreign: scopeA1 },
    // As the page sends it: the cookie, and its own Origin (csrf.test.js).
    adminA1Cookie: { headers: { Cookie: `pm_session=${tok.adminA1}`, Origin: `http://127.0.0.1:${s.port}` },
      foreign: scopeA1 },
    adminA: { headers: k.bearer(tok.adminA), foreign: scopeA },
    adminB: { headers: k.bearer(tok.adminB), foreign: scopeB },
    revokedKey: { headers: k.bearer(revokedKey), foreign: everything },
    expired: { headers: k.bearer(expired), foreign: everything },
    tampered: { headers: k.bearer(tampered), foreign: everything },
    tamperedCookie: { headers: { Cookie: `pm_session=${tampered}`, Origin: `http://127.0.0.1:${s.port}` },
      foreign: everything },
    none: { headers: {}, foreign: everything },
  };
  const invalid = ['revokedKey', 'expired', 'tampered', 'tamperedCookie', 'none'];
  // Expected status per credential; invalid credentials get 401 everywhere.
  // 'pass' (bulk only, being rewritten on main) = neither 401 nor 403.
  const row = (agent, viewerA1, adminA1, adminA, adminB) =>
    ({ agent, viewerA1, adminA1, adminA1Cookie: adminA1, adminA, adminB });
  const V = (list) => ({ visible: list });
  const endpoints = [
    { name: 'bulk', method: 'POST', path: '/api/v1/printing/printers/bulk',
      body: { printers: [] }, expect: row('pass', 403, 'pass', 'pass', 'pass') },
    { name: 'list', method: 'GET', path: '/api/v1/printing/printers',
      expect: row(403, 200, 200, 200, 200),
      visible: { viewerA1: [P.a1], adminA1: [P.a1], adminA1Cookie: [P.a1],
        adminA: [P.a1, P.a2], adminB: [P.b1, P.b2] } },
    { name: 'list branch A2', method: 'GET', path: `/api/v1/printing/printers?branchId=${a2}`,
      expect: row(403, 403, 403, 200, 403), visible: { adminA: [P.a2] } },
    { name: 'list company A', method: 'GET', path: `/api/v1/printing/printers?companyId=${A.companyId}`,
      expect: row(403, 200, 200, 200, 403),
      visible: { viewerA1: [P.a1], adminA1: [P.a1], adminA1Cookie: [P.a1], adminA: [P.a1, P.a2] } },
    { name: 'get A1 printer', method: 'GET', path: `/api/v1/printing/printers/${P.a1}`,
      expect: row(403, 200, 200, 200, 404) },
    { name: 'get A2 printer', method: 'GET', path: `/api/v1/printing/printers/${P.a2}`,
      expect: row(403, 404, 404, 200, 404) },
    { name: 'get B1 printer', method: 'GET', path: `/api/v1/printing/printers/${P.b1}`,
      expect: row(403, 404, 404, 404, 200) },
    { name: 'patch A1 printer', method: 'PATCH', path: `/api/v1/printing/printers/${P.a1}`,
      body: { role: 'receipt' }, expect: row(403, 403, 200, 200, 404) },
    { name: 'patch A2 printer', method: 'PATCH', path: `/api/v1/printing/printers/${P.a2}`,
      body: { role: 'kitchen' }, expect: row(403, 403, 404, 200, 404) },
    { name: 'patch B2 printer', method: 'PATCH', path: `/api/v1/printing/printers/${P.b2}`,
      body: { role: 'kitchen' }, expect: row(403, 403, 404, 404, 200) },
    { name: 'delete A1 printer', method: 'DELETE', printer: [A.companyId, a1],
      expect: row(403, 403, 204, 204, 404) },
    { name: 'delete A2 printer', method: 'DELETE', printer: [A.companyId, a2],
      expect: row(403, 403, 404, 204, 404) },
    { name: 'delete B1 printer', method: 'DELETE', printer: [B.companyId, b1],
      expect: row(403, 403, 404, 404, 204) },
    { name: 'branches', method: 'GET', path: '/api/v1/branches',
      expect: row(200, 200, 200, 200, 200),
      branches: { agent: [a1], viewerA1: [a1], adminA1: [a1], adminA1Cookie: [a1],
        adminA: [a1, a2], adminB: [b1, b2] } },
    { name: 'me', method: 'GET', path: '/api/v1/auth/me', expect: row(200, 200, 200, 200, 200) },
    { name: 'logout', method: 'POST', path: '/api/v1/auth/logout',
      expect: row(403, 204, 204, 204, 204) },
  ];

  let n = 0;
  for (const ep of endpoints) {
    for (const [cname, cred] of Object.entries(creds)) {
      let p = ep.path;
      let target;
      if (ep.printer) {
        target = k.addPrinter(db, ep.printer[0], ep.printer[1], `Doomed ${n++}`);
        p = `/api/v1/printing/printers/${target}`;
      }
      const r = await h.api(s, ep.method, p, { headers: cred.headers, body: ep.body });
      const want = invalid.includes(cname) ? 401 : ep.expect[cname];
      const label = `${ep.name} as ${cname}: ${r.status} ${r.text}`;
      if (want === 'pass') assert.ok(r.status !== 401 && r.status !== 403, label);
      else assert.equal(r.status, want, label);
      for (const id of cred.foreign) assert.ok(!r.text.includes(id), `${label} leaks ${id}`);
      if (target) assert.equal(db.count('printers', `id = '${target}'`), want === 204 ? 0 : 1, label);
      if (r.status === 200 && ep.visible) {
        assert.deepEqual(r.json.printers.map((x) => x.id).sort(), [...ep.visible[cname]].sort(), label);
      }
      if (r.status === 200 && ep.branches) {
        assert.deepEqual(r.json.branches.map((x) => x.id).sort(), [...ep.branches[cname]].sort(), label);
      }
      if (r.status === 401) assert.equal(r.json.error.code, 'unauthorized', label);
      if (r.status === 403) assert.equal(r.json.error.code, 'forbidden', label);
    }
  }
  // The patches that were refused changed nothing.
  assert.equal(db.one(`SELECT role FROM printers WHERE id = '${P.b2}'`).role, 'kitchen');
  assert.equal(db.count('printers', `id IN ('${P.a1}', '${P.a2}', '${P.b1}', '${P.b2}')`), 4);

  // me names the credential's own principal.
  const me = async (hd) => (await h.api(s, 'GET', '/api/v1/auth/me', { headers: hd })).json;
  assert.deepEqual(await me(creds.agent.headers), { kind: 'agent', agent: {
    id: db.one("SELECT id FROM agents WHERE name = 'till-1'").id, name: 'till-1',
    companyId: A.companyId, branchId: a1 } });
  assert.deepEqual(await me(creds.viewerA1.headers), { kind: 'user', user: {
    id: ids.viewerA1, email: 'viewer.a1@alpha.test', role: 'viewer', companyId: A.companyId,
    branchId: a1 } });
  assert.deepEqual(await me(creds.adminB.headers), { kind: 'user', user: {
    id: ids.adminB, email: 'admin@beta.test', role: 'admin', companyId: B.companyId,
    branchId: null } });

  // Public endpoints stay public, whatever credential comes along.
  for (const p of ['/healthz', '/readyz', '/metrics', '/api/v1/printing/test-public']) {
    for (const cname of ['none', 'tampered', 'revokedKey']) {
      const r = await h.api(s, 'GET', p, { headers: creds[cname].headers });
      assert.equal(r.status, 200, `${p} as ${cname}`);
    }
  }
  // A clean exit (under SAN builds: no leak on any of these paths).
  assert.equal((await s.stop()).code, 0, s.log().slice(-3000));
});
