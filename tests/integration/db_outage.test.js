// db_outage.test.js: the database goes away under a running server. Requests
// get 503 with a JSON error (never a hang or a crash) and nothing is half
// written; when the database is back the server reconnects by itself.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const { execFileSync } = require('node:child_process');
const h = require('../lib/harness');
const ak = require('../lib/authkit');

// A cluster of its own, with one database: stopping the shared one would hurt
// other tests. { c, url, psql(sql) }.
async function ownCluster(name) {
  const c = await h.cluster.start();
  execFileSync('psql', ['-X', '-q', '-h', c.host, '-p', String(c.port), '-U', 'postgres', '-d', 'postgres',
    '-c', `CREATE DATABASE ${name}`]);
  const url = `postgresql:///${name}?host=${encodeURIComponent(c.host)}&port=${c.port}&user=postgres`;
  const psql = (q) => execFileSync('psql', ['-X', '-q', '-At', '-h', c.host, '-p', String(c.port), '-U', 'postgres',
    '-d', name, '-c', q], { encoding: 'utf8' }).trim();
  return { c, url, psql };
}

test('database stopped mid-test: 503, then recovery', async () => {
  const { c, url, psql } = await ownCluster('outage');
  const s = await h.startServer({ db: { url }, env: { PRINTMASTER_DB_CONNECT_TIMEOUT: '2' } });
  try {
    const t = await ak.tenant({ url }, s, { company: 'Outage Co' });
    const body = (n) => ({ printers: [{ name: `Outage ${n}`, address: `10.5.0.${n}`, port: 9100 }] });
    const post = (n) => h.api(s, 'POST', '/api/v1/printing/printers/bulk', { headers: t.agent(0), body: body(n) });

    let r = await post(1);
    assert.equal(r.status, 200);

    // 'fast' (not 'immediate'): with fsync off, only a clean shutdown keeps
    // the rows written so far.
    h.cluster.stop(c.dir, 'fast');
    const t0 = Date.now();
    for (const path of ['/readyz', '/api/v1/printing/printers/bulk']) {
      r = path === '/readyz' ? await h.api(s, 'GET', path) : await post(2);
      assert.equal(r.status, 503, `${path}: ${r.text}`);
      assert.equal(r.json.error.code, 'database_unavailable');
      if (path !== '/readyz') assert.equal(r.headers.get('retry-after'), '1');
    }
    r = await h.api(s, 'GET', '/api/v1/printing/printers', { headers: t.admin });
    assert.equal(r.status, 503);
    assert.ok(Date.now() - t0 < 15000, 'answers come quickly, not after a hang');
    assert.equal((await h.api(s, 'GET', '/healthz')).status, 200, 'the process itself is fine');
    assert.equal(s.exited(), null);

    h.cluster.restart(c.dir);
    await h.waitFor(async () => (await h.api(s, 'GET', '/readyz')).status === 200,
      { timeout: 15000, what: 'readyz after restart' });
    // Every worker reconnects on its own: several requests in parallel all succeed.
    const rs = await Promise.all([2, 3, 4, 5, 6, 7].map((n) => post(n)));
    assert.deepEqual(rs.map((x) => x.status), [200, 200, 200, 200, 200, 200]);
    assert.equal(psql("SELECT count(*) FROM printers WHERE name LIKE 'Outage %'"), '7');
    assert.match(fs.readFileSync(s.logFile, 'utf8'), /\[DB\] connected/);
  } finally {
    await s.stop();
    h.cluster.stop(c.dir, 'immediate');
    fs.rmSync(c.dir, { recursive: true, force: true });
  }
});

// Issue 11: connections PostgreSQL closed are found before use and replaced,
// and a statement that failed on a lost connection before its transaction
// began is retried once: once the database accepts connections again, no
// request gets 503. Two agents keep syncing through it, as agents do (retrying
// a 503 with the same Idempotency-Key): nothing is stored twice or lost.
test('database restarted under a stream of requests: 200 again at once, nothing lost', async () => {
  const { c, url, psql } = await ownCluster('restart');
  const s = await h.startServer({ db: { url }, env: { PRINTMASTER_DB_CONNECT_TIMEOUT: '2' } });
  try {
    const t = await ak.tenant({ url }, s, { company: 'Restart Co', branches: ['One', 'Two'] });
    let upAt = Infinity;
    let stop = false;
    const late503 = [];
    const sent = [0, 0];
    async function agent(i) {
      for (let n = 0; !stop && n < 2000; n++) {
        const body = { printers: [{ name: `Agent ${i} printer ${n}`, address: `10.6.${i}.${n % 250}`, port: 9100 + Math.floor(n / 250) }] };
        const key = `restart-${i}-${n}`;
        for (let attempt = 0; ; attempt++) {
          const at = Date.now();
          const r = await h.api(s, 'POST', '/api/v1/printing/printers/bulk',
            { headers: { ...t.agent(i), 'Idempotency-Key': key }, body });
          if (r.status === 200) break;
          assert.equal(r.status, 503, r.text);
          assert.equal(r.headers.get('retry-after'), '1');
          if (at > upAt) late503.push(`${key}: ${r.text}`);
          assert.ok(attempt < 200, 'bounded retries');
          await new Promise((res) => setTimeout(res, 50));
        }
        sent[i] = n + 1;
        await new Promise((res) => setTimeout(res, 10));
      }
    }
    const agents = [agent(0), agent(1)];
    await new Promise((res) => setTimeout(res, 500));
    h.cluster.stop(c.dir, 'fast');
    await new Promise((res) => setTimeout(res, 1000));
    h.cluster.restart(c.dir);	// returns once the database accepts connections
    upAt = Date.now();
    await new Promise((res) => setTimeout(res, 1500));
    stop = true;
    await Promise.all(agents);
    assert.deepEqual(late503, [], 'no 503 once the database was back');
    for (const i of [0, 1]) {
      assert.ok(sent[i] > 5, `agent ${i} kept syncing (${sent[i]})`);
      assert.equal(psql(`SELECT count(*) FROM printers WHERE branch_id = '${t.branchIds[i]}'`), String(sent[i]),
        `agent ${i}: every printer once`);
    }
    assert.equal((await h.api(s, 'GET', '/readyz')).status, 200);
  } finally {
    await s.stop();
    h.cluster.stop(c.dir, 'immediate');
    fs.rmSync(c.dir, { recursive: true, force: true });
  }
});

test('two instances starting together on a fresh database both come up', async () => {
  const db = await h.createDatabase();
  const [a, b] = await Promise.all([h.startServer({ db }), h.startServer({ db })]);
  try {
    assert.equal((await h.api(a, 'GET', '/readyz')).status, 200);
    assert.equal((await h.api(b, 'GET', '/readyz')).status, 200);
    const versions = db.query('SELECT version FROM schema_migrations ORDER BY version').map((r) => r.version);
    assert.ok(versions.length >= 1);
    assert.equal(new Set(versions).size, versions.length, 'each migration applied once');
    assert.equal(versions[0], '001_init');
    // Heartbeat updates of printers can be HOT (004_printers_fillfactor).
    assert.deepEqual(db.one("SELECT reloptions FROM pg_class WHERE relname = 'printers'").reloptions,
      ['fillfactor=70']);
  } finally {
    await a.stop();
    await b.stop();
  }
});
