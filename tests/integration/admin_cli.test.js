// admin_cli.test.js: `printmaster-server admin ...` against a fresh database:
// create/list/revoke for companies, branches, users and agents, the password
// on stdin, and clear errors with a non-zero exit for bad input.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const h = require('../lib/harness');
const k = require('../lib/authkit');

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const PW = 'a-long-enough-password';
const lines = (out) => out.split('\n').filter(Boolean).map((l) => l.split('\t'));

test('admin CLI: create, list and revoke each kind; errors are clear', async () => {
  const db = await h.createDatabase();
  let r;

  // Help, and an unknown command.
  r = k.admin(db, ['--help']);
  assert.equal(r.code, 0);
  assert.match(r.stdout, /admin user create --company ID \[--branch ID\] --email EMAIL/);
  r = k.admin(db, ['printer', 'create', 'x']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /unknown command 'printer create'/);
  r = k.admin(db, ['company']);
  assert.equal(r.code, 2);

  // Companies (the first run also migrates the empty database).
  const co = k.adminOk(db, ['company', 'create', 'Acme Foods']);
  assert.match(co, UUID);
  assert.equal(db.count('schema_migrations', "version = '002_auth'"), 1);
  const co2 = k.adminOk(db, ['company', 'create', 'Other Co']);
  assert.deepEqual(lines(k.adminOk(db, ['company', 'list'])),
    [[co, 'Acme Foods', '-', 'active'], [co2, 'Other Co', '-', 'active']]);
  r = k.admin(db, ['company', 'create', '']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /a name of 1 to 200 bytes/);

  // Branches.
  const br = k.adminOk(db, ['branch', 'create', '--company', co, 'Downtown']);
  const br2 = k.adminOk(db, ['branch', 'create', `--company=${co}`, 'Harbour']);
  const brOther = k.adminOk(db, ['branch', 'create', '--company', co2, 'Elsewhere']);
  assert.match(br, UUID);
  assert.deepEqual(lines(k.adminOk(db, ['branch', 'list', '--company', co])),
    [[br, 'Downtown', `company:${co}`, 'active'], [br2, 'Harbour', `company:${co}`, 'active']]);
  assert.equal(lines(k.adminOk(db, ['branch', 'list'])).length, 3);
  r = k.admin(db, ['branch', 'create', '--company', 'not-an-id', 'X']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--company must be an id \(a UUID\), got 'not-an-id'/);
  r = k.admin(db, ['branch', 'create', '--company', '00000000-0000-4000-8000-000000000000', 'X']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /no active company with that id/);
  r = k.admin(db, ['branch', 'create', 'X']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /usage: admin branch create --company ID NAME/);

  // Users: password on stdin, stored as Argon2id, never printed.
  r = k.admin(db, ['user', 'create', '--company', co, '--branch', br, '--email', 'ann@acme.test',
    '--role', 'viewer'], { input: PW + '\n' });
  assert.equal(r.code, 0, r.stderr);
  const u = r.stdout.trim();
  assert.match(u, UUID);
  assert.equal(r.stdout, u + '\n');
  assert.ok(!r.stderr.includes(PW));
  assert.match(db.one(`SELECT password_hash FROM users WHERE id = '${u}'`).password_hash, /^\$argon2id\$/);
  const u2 = k.adminOk(db, ['user', 'create', '--company', co, '--email', 'boss@acme.test',
    '--role', 'admin'], { input: PW });	// no trailing newline is fine too
  assert.deepEqual(lines(k.adminOk(db, ['user', 'list', '--company', co])).slice(0, 2),
    [[u, 'ann@acme.test', `viewer branch:${br}`, 'active'],
      [u2, 'boss@acme.test', `admin company:${co}`, 'active']]);
  const userErr = (args, input, code, re) => {
    const x = k.admin(db, ['user', 'create', ...args], { input });
    assert.equal(x.code, code, `${args.join(' ')}: ${x.stderr}`);
    assert.match(x.stderr, re);
    assert.equal(x.stdout, '');
  };
  userErr(['--company', co, '--email', 'ANN@acme.test', '--role', 'admin'], PW, 1,
    /a user with that email already exists/);
  userErr(['--company', co, '--email', 'c@acme.test', '--role', 'admin'], 'short\n', 2,
    /the password must be 8 to 1024 bytes/);
  userErr(['--company', co, '--email', 'c@acme.test', '--role', 'admin'], '', 2, /no password on stdin/);
  userErr(['--company', co, '--email', 'c@acme.test', '--role', 'root'], PW, 2,
    /--role must be admin or viewer/);
  userErr(['--company', co, '--email', 'not-an-email', '--role', 'admin'], PW, 2,
    /--email must be an email address/);
  userErr(['--company', co, '--branch', brOther, '--email', 'c@acme.test', '--role', 'admin'], PW, 1,
    /no active company \(and branch of it\) with those ids/);
  userErr(['--company', co, '--email', 'c@acme.test', '--role', 'admin', '--password', 'x'], PW, 2,
    /unknown option --password/);
  assert.equal(db.count('users', "email = 'c@acme.test'"), 0);

  // On a terminal: a prompt, twice, without echo.
  const onTty = (answers) => JSON.parse(execFileSync('python3', [path.join(__dirname, '..', 'lib', 'ptyrun.py'),
    JSON.stringify({ argv: [path.join(h.BIN, 'printmaster-server'), 'admin', 'user', 'create', '--company', co,
      '--email', 'tty@acme.test', '--role', 'viewer'], answers })],
  { encoding: 'utf8', env: { ...process.env, DATABASE_URL: db.url, PRINTMASTER_LOG_LEVEL: 'warn' } }));
  let tty = onTty([['Password: ', PW + '\n'], ['Repeat password: ', PW + 'x\n']]);
  assert.equal(tty.code, 2, tty.output);
  assert.match(tty.output, /the passwords differ/);
  tty = onTty([['Password: ', PW + '\n'], ['Repeat password: ', PW + '\n']]);
  assert.equal(tty.code, 0, tty.output);
  assert.match(tty.output, /<Password:>[\s\S]*<Repeat password:>/);
  assert.ok(!tty.output.includes(PW), `the password was echoed: ${tty.output}`);
  const ttyUser = tty.output.match(/[0-9a-f-]{36}/)[0];
  assert.match(db.one(`SELECT password_hash FROM users WHERE id = '${ttyUser}'`).password_hash, /^\$argon2id\$/);
  k.adminOk(db, ['user', 'revoke', ttyUser]);

  // Agents: the key once on stdout, only its hash stored.
  r = k.admin(db, ['agent', 'create', '--branch', br, 'till-1']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^pmk_[A-Za-z0-9_-]{43}\n$/);
  const key = r.stdout.trim();
  const aid = db.one("SELECT id FROM agents WHERE name = 'till-1'").id;
  assert.match(r.stderr, new RegExp(`agent ${aid} created`));
  assert.deepEqual(lines(k.adminOk(db, ['agent', 'list'])), [[aid, 'till-1', `branch:${br}`, 'active']]);
  assert.equal(db.count('agents', `key_hash = convert_to('${key}', 'UTF8')`), 0);
  r = k.admin(db, ['agent', 'create', '--branch', '00000000-0000-4000-8000-000000000000', 'x']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /no active branch with that id/);
  assert.equal(r.stdout, '');

  // The key and the users work against a server on this database.
  const s = await h.startServer({ db });
  try {
    assert.equal((await h.api(s, 'GET', '/api/v1/auth/me', { headers: k.bearer(key) })).status, 200);
    const tok = await k.login(s, 'ann@acme.test', PW);

    // Revocation, per kind; again is harmless; unknown and malformed ids fail.
    k.adminOk(db, ['agent', 'revoke', aid]);
    assert.deepEqual(lines(k.adminOk(db, ['agent', 'list'])), [[aid, 'till-1', `branch:${br}`, 'revoked']]);
    // The server hears of it through its listener (NOTIFY), within moments.
    const refused = (hdr) => h.waitFor(async () =>
      (await h.api(s, 'GET', '/api/v1/auth/me', { headers: hdr })).status === 401,
    { timeout: 2000, interval: 20, what: 'the revoked credential refused' });
    await refused(k.bearer(key));
    k.adminOk(db, ['user', 'revoke', u]);
    await refused(k.bearer(tok));
    assert.equal(lines(k.adminOk(db, ['user', 'list']))[0][3], 'revoked');
    r = k.admin(db, ['user', 'revoke', u]);
    assert.equal(r.code, 0);
    assert.match(r.stderr, /was already revoked/);
    k.adminOk(db, ['branch', 'revoke', br2]);
    assert.equal(lines(k.adminOk(db, ['branch', 'list', '--company', co]))[1][3], 'revoked');
    r = k.admin(db, ['agent', 'create', '--branch', br2, 'late']);
    assert.equal(r.code, 1);
    k.adminOk(db, ['company', 'revoke', co2]);
    assert.equal(lines(k.adminOk(db, ['company', 'list']))[1][3], 'revoked');
    r = k.admin(db, ['branch', 'create', '--company', co2, 'Late']);
    assert.equal(r.code, 1);
    for (const kind of ['company', 'branch', 'user', 'agent']) {
      r = k.admin(db, [kind, 'revoke', '00000000-0000-4000-8000-000000000000']);
      assert.equal(r.code, 1, kind);
      assert.match(r.stderr, new RegExp(`no ${kind} with id 00000000-0000-4000-8000-000000000000`));
      r = k.admin(db, [kind, 'revoke', 'bogus']);
      assert.equal(r.code, 2, kind);
      assert.match(r.stderr, /must be an id/);
      r = k.admin(db, [kind, 'revoke']);
      assert.equal(r.code, 2, kind);
      assert.match(r.stderr, new RegExp(`usage: admin ${kind} revoke ID`));
    }
  } finally {
    assert.equal((await s.stop()).code, 0, s.log().slice(-3000));
  }

  // No database: a clear message and exit 1.
  r = k.admin(db, ['company', 'list'], { env: { DATABASE_URL: 'postgresql:///nonexistent_db?host=/nonexistent' } });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /cannot connect to the database/);
});
