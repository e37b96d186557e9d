// csrf.test.js: a request authenticated by the session cookie that is not GET
// or HEAD must come from the page's own origin (Origin equal to the server's,
// or listed in allowed_origins; or, without Origin, Sec-Fetch-Site:
// same-origin). A foreign Origin is 403 cross_site and changes nothing (the
// agent receives no command); the page's origin works; a Bearer credential
// needs no Origin.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const h = require('../lib/harness');
const k = require('../lib/authkit');
const w = require('../lib/wskit');

test('cookie-authenticated changes are refused from other sites', async (t) => {
  const db = await h.createDatabase();
  const s = await h.startServer({ db, env: { PRINTMASTER_ALLOWED_ORIGINS: 'https://console.example' } });
  t.after(() => s.stop());
  const T = await w.tenants(db, s);
  const agent = await w.connect(s, { token: T.agentKey });
  t.after(() => agent.close());
  agent.send({ type: 'hello', hostname: 'till', version: '1' });
  const own = `http://127.0.0.1:${s.port}`;
  const cookie = (token, origin, extra = {}) => ({ Cookie: `pm_session=${token}`,
    ...(origin ? { Origin: origin } : {}), ...extra });
  const P = T.printers.a1;
  const changing = [
    ['POST', `/api/v1/printing/printers/${P}/test-print`, undefined],
    ['POST', '/api/v1/printing/scan', { branchId: T.a1 }],
    ['POST', `/api/v1/printing/agents/${T.agentId}/scan`, undefined],
    ['PATCH', `/api/v1/printing/printers/${P}`, { displayName: 'Changed' }],
    ['POST', '/api/v1/printing/printers/bulk', { branchId: T.a1, printers: [{ name: 'Planted' }] }],
    ['DELETE', `/api/v1/printing/printers/${P}`, undefined],
    ['POST', '/api/v1/auth/logout', { all: true }],
  ];
  const before = () => JSON.stringify([db.query('SELECT id, display_name FROM printers ORDER BY id'),
    db.query('SELECT token_version FROM users ORDER BY id'), db.count('printer_events')]);
  const snapshot = before();
  for (const [method, path, body] of changing) {
    for (const [origin, extra] of [['http://evil.example', {}], [`http://sub.127.0.0.1:${s.port}`, {}],
      [undefined, {}], [undefined, { 'Sec-Fetch-Site': 'cross-site' }], [undefined, { 'Sec-Fetch-Site': 'same-site' }]]) {
      const r = await h.api(s, method, path, { headers: cookie(T.tok.adminA, origin, extra), body });
      assert.equal(r.status, 403, `${method} ${path} from ${origin || JSON.stringify(extra)}: ${r.text}`);
      assert.equal(r.json.error.code, 'cross_site');
    }
  }
  assert.equal(before(), snapshot, 'nothing changed');
  await w.sleep(300);
  assert.deepEqual(agent.msgs.filter((m) => m.type === 'command'), [], 'no command reached the agent');

  // Reading with the cookie needs no Origin.
  let r = await h.api(s, 'GET', '/api/v1/printing/printers', { headers: cookie(T.tok.adminA) });
  assert.equal(r.status, 200);

  // The page's own origin, a listed origin and same-origin fetch metadata work.
  r = await h.api(s, 'PATCH', `/api/v1/printing/printers/${P}`,
    { headers: cookie(T.tok.adminA, own), body: { displayName: 'From the page' } });
  assert.equal(r.status, 200);
  r = await h.api(s, 'PATCH', `/api/v1/printing/printers/${P}`,
    { headers: cookie(T.tok.adminA, 'https://console.example'), body: { displayName: 'From the console' } });
  assert.equal(r.status, 200);
  r = await h.api(s, 'POST', '/api/v1/printing/scan',
    { headers: cookie(T.tok.adminA, undefined, { 'Sec-Fetch-Site': 'same-origin' }), body: { branchId: T.a1 } });
  assert.equal(r.status, 202);
  await agent.next((m) => m.type === 'command' && m.requestId === r.json.requestId);

  // A Bearer credential is not sent by browsers on their own: no Origin needed,
  // and a foreign one does not matter.
  r = await h.api(s, 'POST', `/api/v1/printing/printers/${P}/test-print`, { headers: k.bearer(T.tok.adminA) });
  assert.equal(r.status, 202, r.text);
  r = await h.api(s, 'PATCH', `/api/v1/printing/printers/${P}`,
    { headers: { ...k.bearer(T.tok.adminA), Origin: 'http://evil.example' }, body: { displayName: 'Bearer' } });
  assert.equal(r.status, 200);
  r = await h.api(s, 'POST', '/api/v1/auth/logout', { headers: cookie(T.tok.viewerA1, own) });
  assert.ok(r.status === 200 || r.status === 204, r.text);
});
