// auth_sessions.test.js: login, session tokens and their revocation, agent
// keys, the signing secret on disk, the login rate limit, and that no secret
// ever reaches the server's log.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const http = require('node:http');
const crypto = require('node:crypto');
const { execFileSync } = require('node:child_process');
const h = require('../lib/harness');
const k = require('../lib/authkit');

const PW = 'Tr0ub4dor&3-long';
const me = (s, headers) => h.api(s, 'GET', '/api/v1/auth/me', { headers });
const now = () => Math.floor(Date.now() / 1000);

// POST login from a chosen loopback source address (for per-email limits).
function loginFrom(s, localAddress, email, password) {
  return new Promise((resolve, reject) => {
    const body = JSON.stringify({ email, password });
    const req = http.request({ host: '127.0.0.1', port: s.port, method: 'POST',
      path: '/api/v1/auth/login', localAddress,
      headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) } },
    (res) => { res.resume(); res.on('end', () => resolve({ status: res.statusCode, headers: res.headers })); });
    req.on('error', reject);
    req.end(body);
  });
}

test('sessions: login, cookie, tamper, expiry, logout, logout-all, revocation', async (t) => {
  const db = await h.createDatabase();
  const s = await h.startServer({ db, env: { PRINTMASTER_SESSION_TTL: '600' } });
  t.after(() => s.stop());
  const T = h.seedTenant(db, { company: 'Gamma', branches: ['G1', 'G2'] });
  const uid = k.adminOk(db, ['user', 'create', '--company', T.companyId, '--branch', T.branchId,
    '--email', 'Ann@Gamma.test', '--role', 'admin'], { input: PW + '\n' });
  const secrets = [PW];

  // The stored hash is Argon2id, never the password.
  const hash = db.one(`SELECT password_hash FROM users WHERE id = '${uid}'`).password_hash;
  assert.match(hash, /^\$argon2id\$/);
  assert.ok(!hash.includes(PW));

  // Login: exact shape, cookie attributes, case-insensitive email.
  const t0 = now();
  let r = await h.api(s, 'POST', '/api/v1/auth/login', { body: { email: 'ann@gamma.test', password: PW } });
  assert.equal(r.status, 200, r.text);
  const tok = r.json.token;
  secrets.push(tok);
  assert.deepEqual(Object.keys(r.json).sort(), ['expiresAt', 'token', 'user']);
  assert.deepEqual(r.json.user, { id: uid, email: 'Ann@Gamma.test', role: 'admin',
    companyId: T.companyId, branchId: T.branchId });
  const exp = Date.parse(r.json.expiresAt) / 1000;
  assert.match(r.json.expiresAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  assert.ok(exp >= t0 + 600 && exp <= now() + 601, `expiresAt ${r.json.expiresAt}`);
  assert.equal(r.headers.get('set-cookie'),
    `pm_session=${tok}; HttpOnly; SameSite=Strict; Path=/; Max-Age=600`);
  assert.equal((await me(s, { Cookie: `pm_session=${tok}` })).status, 200);
  assert.equal((await me(s, k.bearer(tok))).json.user.id, uid);
  // A Bearer header wins over the cookie; a malformed Authorization is refused.
  assert.equal((await me(s, { ...k.bearer('nope'), Cookie: `pm_session=${tok}` })).status, 401);
  assert.equal((await me(s, { Authorization: `Basic ${tok}` })).status, 401);

  // Wrong password and unknown user: one answer.
  const bad1 = await h.api(s, 'POST', '/api/v1/auth/login', { body: { email: 'ann@gamma.test', password: 'wrong-password' } });
  const bad2 = await h.api(s, 'POST', '/api/v1/auth/login', { body: { email: 'nobody@gamma.test', password: 'wrong-password' } });
  assert.equal(bad1.status, 401);
  assert.equal(bad1.text, bad2.text);
  assert.equal(bad1.json.error.code, 'invalid_credentials');
  assert.equal((await h.api(s, 'POST', '/api/v1/auth/login', { body: { email: 'ann@gamma.test' } })).status, 400);

  // Every single changed character of the token is refused.
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  for (let i = 0; i < tok.length; i++) {
    const c = tok[i] === '.' ? 'A' : alphabet[(alphabet.indexOf(tok[i]) + 1 + (i % 7)) % alphabet.length];
    const bad = tok.slice(0, i) + c + tok.slice(i + 1);
    assert.notEqual(bad, tok);
    assert.equal((await me(s, k.bearer(bad))).status, 401, `position ${i}`);
  }

  // Forged with the server's key: accepted unexpired, refused expired; with
  // another key refused; the key file is private to the server.
  const keyFile = path.join(s.dataDir, 'session.key');
  assert.equal(fs.statSync(keyFile).mode & 0o777, 0o600);
  const key = k.serverKey(s);
  assert.equal(key.length, 32);
  const claims = { bid: T.branchId, cid: T.companyId, role: 'admin', sub: uid, ver: 1 };
  assert.equal((await me(s, k.bearer(k.signToken(key, { ...claims, exp: now() + 60 })))).status, 200);
  assert.equal((await me(s, k.bearer(k.signToken(key, { ...claims, exp: now() - 1 })))).status, 401);
  assert.equal((await me(s, k.bearer(k.signToken(crypto.randomBytes(32), { ...claims, exp: now() + 60 })))).status, 401);
  // A token of an older version (before a logout-all) is refused.
  assert.equal((await me(s, k.bearer(k.signToken(key, { ...claims, ver: 0, exp: now() + 60 })))).status, 401);

  // Plain logout clears the cookie; the token itself stays valid until expiry.
  r = await h.api(s, 'POST', '/api/v1/auth/logout', { headers: k.bearer(tok) });
  assert.equal(r.status, 204);
  assert.equal(r.headers.get('set-cookie'), 'pm_session=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0');
  assert.equal((await me(s, k.bearer(tok))).status, 200);
  assert.equal((await h.api(s, 'POST', '/api/v1/auth/logout', { headers: k.bearer(tok), body: { all: 'yes' } })).status, 422);

  // Logout of all sessions ends this one and every other one.
  const tok2 = await k.login(s, 'ann@gamma.test', PW);
  secrets.push(tok2);
  r = await h.api(s, 'POST', '/api/v1/auth/logout', { headers: k.bearer(tok), body: { all: true } });
  assert.equal(r.status, 204);
  assert.equal((await me(s, k.bearer(tok))).status, 401);
  assert.equal((await me(s, k.bearer(tok2))).status, 401);
  assert.equal(db.one(`SELECT token_version FROM users WHERE id = '${uid}'`).token_version, 2);
  const tok3 = await k.login(s, 'ann@gamma.test', PW);
  secrets.push(tok3);
  assert.equal((await me(s, k.bearer(tok3))).status, 200);

  // Agent keys: work, last_seen kept (not rewritten on every request), revocable.
  const akey = k.adminOk(db, ['agent', 'create', '--branch', T.branchId, 'till']);
  secrets.push(akey);
  assert.match(akey, /^pmk_[A-Za-z0-9_-]{43}$/);
  const aid = db.one("SELECT id FROM agents WHERE name = 'till'").id;
  assert.equal(db.one(`SELECT last_seen FROM agents WHERE id = '${aid}'`).last_seen, null);
  assert.equal((await me(s, k.bearer(akey))).status, 200);
  const seen = db.one(`SELECT last_seen FROM agents WHERE id = '${aid}'`).last_seen;
  assert.ok(seen);
  await new Promise((res) => setTimeout(res, 50));
  assert.equal((await me(s, k.bearer(akey))).status, 200);
  assert.equal(db.one(`SELECT last_seen FROM agents WHERE id = '${aid}'`).last_seen, seen);
  // Rewritten when it is older than a minute, by the lookup an instance makes
  // when its cached entry for the key has expired (AUTH_CACHE_TTL_MS, 10 s).
  db.exec(`UPDATE agents SET last_seen = now() - interval '2 minutes' WHERE id = '${aid}'`);
  await h.waitFor(async () => (await me(s, k.bearer(akey))).status === 200 &&
    db.one(`SELECT last_seen > now() - interval '10 seconds' AS fresh FROM agents WHERE id = '${aid}'`).fresh,
  { timeout: 15000, interval: 500, what: 'last_seen to be refreshed' });
  // Only the hash is stored.
  const stored = db.one(`SELECT encode(key_hash, 'hex') AS h FROM agents WHERE id = '${aid}'`).h;
  // BLAKE2b-256 of the key text (node:crypto has no 256-bit BLAKE2b; python does).
  const blake = execFileSync('python3', ['-c',
    'import hashlib,sys; print(hashlib.blake2b(sys.stdin.buffer.read(), digest_size=32).hexdigest())'],
  { input: akey, encoding: 'utf8' }).trim();
  assert.equal(stored, blake);
  assert.equal(db.count('agents', `key_hash::text LIKE '%${Buffer.from(akey).toString('hex')}%'`), 0);
  // A key one character off is not that key.
  const off = akey.slice(0, -1) + (akey.endsWith('A') ? 'B' : 'A');
  assert.equal((await me(s, k.bearer(off))).status, 401);

  // The CLI's revocations reach the server through its listener (NOTIFY),
  // within moments: wait for them, up to 2 s.
  const refused = (hdr, what) => h.waitFor(async () => (await me(s, hdr)).status === 401,
    { timeout: 2000, interval: 20, what });

  // Revoking the user ends its sessions and its logins.
  k.adminOk(db, ['user', 'revoke', uid]);
  await refused(k.bearer(tok3), 'the revoked user refused');
  assert.equal((await h.api(s, 'POST', '/api/v1/auth/login', { body: { email: 'ann@gamma.test', password: PW } })).status, 401);
  k.adminOk(db, ['agent', 'revoke', aid]);
  await refused(k.bearer(akey), 'the revoked agent refused');

  // Revoking a branch or a company ends the credentials bound to it.
  const u2 = k.adminOk(db, ['user', 'create', '--company', T.companyId, '--branch', T.branchIds[1],
    '--email', 'bob@gamma.test', '--role', 'viewer'], { input: PW + '\n' });
  const u3 = k.adminOk(db, ['user', 'create', '--company', T.companyId, '--email', 'cy@gamma.test',
    '--role', 'admin'], { input: PW + '\n' });
  const key2 = k.adminOk(db, ['agent', 'create', '--branch', T.branchIds[1], 'till-2']);
  secrets.push(key2);
  const tb = await k.login(s, 'bob@gamma.test', PW);
  const tc = await k.login(s, 'cy@gamma.test', PW);
  secrets.push(tb, tc);
  assert.ok(u2 && u3);
  assert.equal((await me(s, k.bearer(key2))).status, 200);
  k.adminOk(db, ['branch', 'revoke', T.branchIds[1]]);
  await refused(k.bearer(tb), 'the revoked branch\'s user refused');
  await refused(k.bearer(key2), 'the revoked branch\'s agent refused');
  assert.equal((await me(s, k.bearer(tc))).status, 200);
  let br = await h.api(s, 'GET', '/api/v1/branches', { headers: k.bearer(tc) });
  assert.deepEqual(br.json.branches.map((b) => b.id), [T.branchIds[0]]);
  k.adminOk(db, ['company', 'revoke', T.companyId]);
  await refused(k.bearer(tc), 'the revoked company\'s user refused');
  assert.equal((await h.api(s, 'POST', '/api/v1/auth/login', { body: { email: 'cy@gamma.test', password: PW } })).status, 401);

  // Nothing secret in the log; ids and emails are allowed.
  assert.equal((await s.stop()).code, 0, s.log().slice(-3000));
  const log = s.log();
  for (const x of [...secrets, key.toString('base64'), fs.readFileSync(keyFile, 'utf8').trim()]) {
    assert.ok(!log.includes(x), `log contains a secret (${x.slice(0, 6)}...)`);
  }
  assert.match(log, new RegExp(`login of user ${uid}`));
});

test('session_secret from the configuration signs the tokens; no key file is written', async (t) => {
  const db = await h.createDatabase();
  const secret = crypto.randomBytes(32);
  const s = await h.startServer({ db, env: { PRINTMASTER_SESSION_SECRET: secret.toString('base64') } });
  t.after(() => s.stop());
  assert.equal(fs.existsSync(path.join(s.dataDir, 'session.key')), false);
  const T = h.seedTenant(db, { company: 'Delta' });
  const uid = k.adminOk(db, ['user', 'create', '--company', T.companyId, '--email', 'd@delta.test',
    '--role', 'viewer'], { input: PW + '\n' });
  const claims = { bid: null, cid: T.companyId, role: 'viewer', sub: uid, ver: 1, exp: now() + 60 };
  assert.equal((await me(s, k.bearer(k.signToken(secret, claims)))).status, 200);
  const tok = await k.login(s, 'd@delta.test', PW);
  assert.equal((await me(s, k.bearer(tok))).status, 200);
  // A restart with the same secret keeps sessions; --print-config masks it.
  await s.stop();
  const s2 = await h.startServer({ db, env: { PRINTMASTER_SESSION_SECRET: secret.toString('base64') } });
  t.after(() => s2.stop());
  assert.equal((await me(s2, k.bearer(tok))).status, 200);
  assert.equal((await s2.stop()).code, 0, s2.log().slice(-3000));
  assert.ok(!s.log().includes(secret.toString('base64')));
  const s3 = await h.startServer({ db });	// a generated key: old sessions end
  t.after(() => s3.stop());
  assert.equal((await me(s3, k.bearer(tok))).status, 401);
  assert.equal((await s3.stop()).code, 0, s3.log().slice(-3000));
});

test('login rate limit: per address and per email, 429 with Retry-After', async (t) => {
  const db = await h.createDatabase();
  const s = await h.startServer({ db, env: { PRINTMASTER_LOGIN_RATE_LIMIT: '10' } });
  t.after(() => s.stop());
  const T = h.seedTenant(db, { company: 'Epsilon' });
  k.adminOk(db, ['user', 'create', '--company', T.companyId, '--email', 'e@eps.test',
    '--role', 'admin'], { input: PW + '\n' });
  // Successful logins give their attempt back: more than the limit in a row.
  for (let i = 0; i < 12; i++) await k.login(s, 'e@eps.test', PW);

  for (let i = 0; i < 10; i++) {
    const r = await h.api(s, 'POST', '/api/v1/auth/login', { body: { email: `x${i}@eps.test`, password: 'wrong-password' } });
    assert.equal(r.status, 401, `attempt ${i + 1}`);
  }
  let r = await h.api(s, 'POST', '/api/v1/auth/login', { body: { email: 'e@eps.test', password: PW } });
  assert.equal(r.status, 429);
  assert.equal(r.json.error.code, 'too_many_requests');
  const ra = Number(r.headers.get('retry-after'));
  assert.ok(Number.isInteger(ra) && ra >= 1 && ra <= 60, `Retry-After ${r.headers.get('retry-after')}`);

  // Per email, from ten different addresses: the 11th is refused even from a fresh one.
  for (let i = 0; i < 10; i++) {
    const x = await loginFrom(s, `127.0.0.${i + 2}`, 'E@eps.test', 'wrong-password');
    assert.equal(x.status, 401, `address ${i + 2}`);
  }
  const x = await loginFrom(s, '127.0.0.20', 'e@eps.test', PW);
  assert.equal(x.status, 429);
  assert.ok(Number(x.headers['retry-after']) >= 1);
  // Another email from another address is unaffected.
  const y = await loginFrom(s, '127.0.0.21', 'other@eps.test', 'wrong-password');
  assert.equal(y.status, 401);
  assert.equal((await s.stop()).code, 0, s.log().slice(-3000));
});
