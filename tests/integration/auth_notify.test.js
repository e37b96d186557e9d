// auth_notify.test.js: every revocation announces itself on the
// printmaster_auth channel ("<kind>:<uuid>"), so each instance can drop what it
// cached for the credential: user, agent, branch and company revoke from the
// admin CLI, and logout of every session. Nothing is announced when nothing was
// revoked. The listener is a psql session: it prints the notifications it has
// received after each statement it runs. Also: agent statistics sent over a
// websocket that outlived its credential are not written.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const h = require('../lib/harness');
const k = require('../lib/authkit');
const w = require('../lib/wskit');

const PW = 'a-long-enough-password';
const NONE = '00000000-0000-4000-8000-000000000000';

// A psql session that LISTENs on printmaster_auth. take() returns the payloads
// received since the last take(), in order.
async function listen(db) {
  const p = spawn('psql', ['-X', '-q', '-At', '-h', db.cluster.host, '-p', String(db.cluster.port),
    '-U', 'postgres', '-d', db.name], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let seen = 0;
  let mark = 0;
  p.stdout.on('data', (d) => { out += d; });
  p.stderr.on('data', (d) => { out += d; });
  // psql prints what arrived before a statement after that statement's
  // result, so the second marker's result comes after every notification
  // that arrived before the first one ran.
  const sync = async () => {
    mark++;
    p.stdin.write(`SELECT 'mark-${mark}-a';\nSELECT 'mark-${mark}-b';\n`);
    await h.waitFor(() => out.includes(`mark-${mark}-b\n`), { what: `psql marker ${mark}` });
  };
  p.stdin.write('LISTEN printmaster_auth;\n');
  await sync();
  return {
    async take() {
      await sync();
      const all = [...out.matchAll(/Asynchronous notification "printmaster_auth" with payload "([^"]*)"/g)]
        .map((m) => m[1]);
      const fresh = all.slice(seen);
      seen = all.length;
      return fresh;
    },
    close() { p.stdin.end('\\q\n'); },
  };
}

test('each revocation and logout-all is announced on printmaster_auth', async (t) => {
  const db = await h.createDatabase();
  const co = k.adminOk(db, ['company', 'create', 'Notify Co']);
  const [b1, b2] = ['One', 'Two'].map((n) => k.adminOk(db, ['branch', 'create', '--company', co, n]));
  const user = (email) => k.adminOk(db, ['user', 'create', '--company', co, '--email', email,
    '--role', 'admin'], { input: PW + '\n' });
  const u1 = user('one@notify.test');
  const u2 = user('two@notify.test');
  k.adminOk(db, ['agent', 'create', '--branch', b1, 'till-1']);
  const a1 = db.one("SELECT id FROM agents WHERE name = 'till-1'").id;
  const s = await h.startServer({ db });
  t.after(() => s.stop());
  const L = await listen(db);
  t.after(() => L.close());

  // Creating things announces nothing.
  assert.deepEqual(await L.take(), []);

  // Logout of every session, through the API.
  const tok = await k.login(s, 'one@notify.test', PW);
  let r = await h.api(s, 'POST', '/api/v1/auth/logout', { headers: k.bearer(tok), body: { all: true } });
  assert.equal(r.status, 204, r.text);
  assert.deepEqual(await L.take(), [`user:${u1}`]);
  // A plain logout ends no other session: nothing to announce.
  const tok2 = await k.login(s, 'one@notify.test', PW);
  r = await h.api(s, 'POST', '/api/v1/auth/logout', { headers: k.bearer(tok2) });
  assert.equal(r.status, 204, r.text);
  assert.deepEqual(await L.take(), []);

  // The admin CLI's revocations, once each; again, or an unknown id, is silent.
  const steps = [
    [['user', 'revoke', u2], `user:${u2}`],
    [['agent', 'revoke', a1], `agent:${a1}`],
    [['branch', 'revoke', b2], `branch:${b2}`],
    [['company', 'revoke', co], `company:${co}`],
  ];
  for (const [args, payload] of steps) {
    k.adminOk(db, args);
    assert.deepEqual(await L.take(), [payload], args.join(' '));
    r = k.admin(db, args);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /was already revoked/);
    assert.deepEqual(await L.take(), [], `${args.join(' ')} again`);
    r = k.admin(db, [args[0], 'revoke', NONE]);
    assert.equal(r.code, 1);
    assert.deepEqual(await L.take(), [], `${args[0]} revoke of an unknown id`);
  }

  // And the revocations took effect.
  assert.equal(db.count('users', 'revoked_at IS NOT NULL'), 1);
  assert.equal(db.count('agents', 'revoked_at IS NOT NULL'), 1);
  assert.equal(db.count('branches', 'revoked_at IS NOT NULL'), 1);
  assert.equal(db.count('companies', 'revoked_at IS NOT NULL'), 1);
});

test('stats from a socket whose agent, branch or company was revoked are not written', async (t) => {
  const db = await h.createDatabase();
  const s = await h.startServer({ db });
  t.after(() => s.stop());
  const statsOf = (id) => db.one(`SELECT stats FROM agents WHERE id = '${id}'`).stats;
  const statEvents = (co) => db.count('printer_events', `company_id = '${co}' AND type = 'printer:sync:stats'`);

  for (const kind of ['agent', 'branch', 'company']) {
    const co = k.adminOk(db, ['company', 'create', `Co ${kind}`]);
    const br = k.adminOk(db, ['branch', 'create', '--company', co, 'Main']);
    const key = k.adminOk(db, ['agent', 'create', '--branch', br, `till-${kind}`]);
    const aid = db.one(`SELECT id FROM agents WHERE name = 'till-${kind}'`).id;
    const agent = await w.connect(s, { token: key });
    // The gateway's database work runs in arrival order: a subscribe's answer
    // comes after every stats message sent before it was done with.
    const flush = async () => {
      const from = agent.msgs.length;
      agent.send({ type: 'subscribe', rooms: [`branch:${br}`] });
      await agent.next((m) => m.type === 'subscribed' || m.type === 'error', { from });
    };

    agent.send({ type: 'stats', stats: { synced: 1 } });
    await flush();
    assert.deepEqual(statsOf(aid), { synced: 1 }, kind);
    assert.equal(statEvents(co), 1, kind);

    k.adminOk(db, [kind, 'revoke', { agent: aid, branch: br, company: co }[kind]]);
    if (!agent.closed) {
      // The socket may be closed once the server hears of the revocation;
      // while it is open, what it sends must not be written.
      agent.send({ type: 'stats', stats: { synced: 2 } });
      try { await flush(); } catch (e) { assert.ok(agent.closed, e.message); }
    }
    assert.deepEqual(statsOf(aid), { synced: 1 }, `${kind} revoked: stats unchanged`);
    assert.equal(statEvents(co), 1, `${kind} revoked: no printer:sync:stats event`);
    await agent.close();
  }
});
