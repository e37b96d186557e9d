// authkit.js: helpers for the auth tests. The admin CLI run as a real process,
// session tokens forged with the server's own key (node:crypto computes
// crypto_auth, HMAC-SHA512 truncated to 32 bytes), and login.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const crypto = require('node:crypto');
const { spawnSync } = require('node:child_process');
const h = require('./harness');

// Run `printmaster-server admin ...args`; input goes to stdin.
// Returns { code, stdout, stderr }.
function admin(db, args, { input = '', env = {} } = {}) {
  const r = spawnSync(path.join(h.BIN, 'printmaster-server'), ['admin', ...args], {
    input,
    encoding: 'utf8',
    timeout: 30000,
    env: { ...process.env, DATABASE_URL: db.url, PRINTMASTER_LOG_LEVEL: 'warn', ...env },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

// The same, asserting success; returns stdout without the newline.
function adminOk(db, args, opts) {
  const r = admin(db, args, opts);
  if (r.code !== 0) throw new Error(`admin ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return r.stdout.replace(/\n$/, '');
}

function b64url(buf) {
  return Buffer.from(buf).toString('base64url');
}

// The signing key the server generated into its data dir.
function serverKey(server) {
  return Buffer.from(fs.readFileSync(path.join(server.dataDir, 'session.key'), 'utf8').trim(),
    'base64');
}

// A token in the server's format: base64url(payload) "." base64url(tag), the
// tag being crypto_auth over the encoded payload text.
function signToken(key, claims) {
  const payload = b64url(JSON.stringify(claims));
  const tag = crypto.createHmac('sha512', key).update(payload).digest().subarray(0, 32);
  return `${payload}.${b64url(tag)}`;
}

async function login(server, email, password) {
  const r = await h.api(server, 'POST', '/api/v1/auth/login', { body: { email, password } });
  if (r.status !== 200) throw new Error(`login ${email}: ${r.status} ${r.text}`);
  return r.json.token;
}

const bearer = (t) => ({ Authorization: `Bearer ${t}` });

// A printer row made directly in SQL; returns its id. name_key is the folded
// name the server computes (identity.c); the test names are plain ASCII.
function addPrinter(db, companyId, branchId, name) {
  return db.one(`INSERT INTO printers (company_id, branch_id, device_key, name, name_key)
    VALUES ('${companyId}', '${branchId}', 'name:${name.toLowerCase()}', '${name}',
    '${name.toLowerCase()}') RETURNING id`).id;
}

module.exports = { admin, adminOk, serverKey, signToken, login, bearer, addPrinter, b64url };

// A company with branches and real credentials, made through the admin CLI:
// { companyId, branchIds, branchId, adminToken, admin (headers), agentKeys[i],
//   agent(i) (headers) }. The server must be running (for the login).
async function tenant(db, server, { company = 'Acme', branches = ['Main'], email } = {}) {
  const companyId = adminOk(db, ['company', 'create', company]);
  const branchIds = branches.map((b) => adminOk(db, ['branch', 'create', '--company', companyId, b]));
  const mail = email || `admin-${crypto.randomBytes(4).toString('hex')}@example.test`;
  const password = crypto.randomBytes(12).toString('base64url');
  adminOk(db, ['user', 'create', '--company', companyId, '--email', mail, '--role', 'admin'],
    { input: `${password}\n` });
  const adminToken = await login(server, mail, password);
  const agentKeys = branchIds.map((b, i) => adminOk(db, ['agent', 'create', '--branch', b, `agent-${i}`]));
  return {
    companyId, branchIds, branchId: branchIds[0], adminToken, email: mail, password, agentKeys,
    admin: bearer(adminToken),
    agent: (i = 0) => bearer(agentKeys[i]),
  };
}

module.exports.tenant = tenant;
