// harness.js: what integration tests stand on. A PostgreSQL cluster (shared per
// `tests/run`, or one of its own when a file runs alone), a fresh database per
// test file, the real printmaster-server on a free port, and small HTTP and SQL
// helpers. Everything started here is stopped by its own PID.
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const crypto = require('node:crypto');
const { spawn, execFileSync } = require('node:child_process');
const cluster = require('./cluster');

const ROOT = path.resolve(__dirname, '..', '..');
const BUILD = path.resolve(ROOT, process.env.BUILD || 'build');
const BIN = path.join(BUILD, 'bin');

let ownCluster = null;
const cleanups = [];

async function getCluster() {
  if (process.env.PM_TEST_PGHOST && process.env.PM_TEST_PGPORT) {
    return { host: process.env.PM_TEST_PGHOST, port: Number(process.env.PM_TEST_PGPORT), shared: true };
  }
  if (!ownCluster) {
    ownCluster = await cluster.start();
    process.on('exit', () => {
      cluster.stop(ownCluster.dir);
      fs.rmSync(ownCluster.dir, { recursive: true, force: true });
    });
  }
  return ownCluster;
}

function psql(c, dbname, sqlText) {
  return execFileSync('psql', ['-X', '-q', '-At', '-v', 'ON_ERROR_STOP=1', '-h', c.host,
    '-p', String(c.port), '-U', 'postgres', '-d', dbname, '-c', sqlText],
  { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

// A fresh, empty database. db.query(sql) returns rows as objects; db.exec(sql)
// runs statements. SQL text comes only from the tests themselves. `locale`
// (e.g. 'C.utf8') gives it a collation and ctype other than the cluster's C.
async function createDatabase({ locale } = {}) {
  const c = await getCluster();
  const name = 't_' + crypto.randomBytes(6).toString('hex');
  psql(c, 'postgres', `CREATE DATABASE ${name}` + (locale ?
    ` TEMPLATE template0 LC_COLLATE '${locale}' LC_CTYPE '${locale}'` : ''));
  const url = `postgresql:///${name}?host=${encodeURIComponent(c.host)}&port=${c.port}&user=postgres`;
  const db = {
    name,
    url,
    cluster: c,
    exec: (sqlText) => psql(c, name, sqlText),
    query: (sqlText) => JSON.parse(psql(c, name,
      `WITH t AS (${sqlText}) SELECT coalesce(json_agg(t), '[]'::json) FROM t`).trim() || '[]'),
    one: (sqlText) => db.query(sqlText)[0],
    count: (table, where = 'true') =>
      Number(psql(c, name, `SELECT count(*) FROM ${table} WHERE ${where}`).trim()),
  };
  return db;
}

// A company with branches, made directly in SQL (the admin CLI has its own tests).
function seedTenant(db, { company = 'Acme', branches = ['Main'] } = {}) {
  const co = db.one(`INSERT INTO companies (name) VALUES ('${company.replace(/'/g, "''")}') RETURNING id`).id;
  const br = branches.map((b) => db.one(
    `INSERT INTO branches (company_id, name) VALUES ('${co}', '${b.replace(/'/g, "''")}') RETURNING id`).id);
  return { companyId: co, branchIds: br, branchId: br[0] };
}

async function waitFor(fn, { timeout = 10000, interval = 50, what = 'condition' } = {}) {
  const end = Date.now() + timeout;
  let last;
  while (Date.now() < end) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) { last = e; }
    await new Promise((r) => setTimeout(r, interval));
  }
  throw new Error(`timed out waiting for ${what}${last instanceof Error ? ': ' + last.message : ''}`);
}

// Start the real server (`bin`: another build of it, e.g. an installed one;
// `cwd`: its working directory). Returns { url, port, proc, log(), stop(), kill() }.
async function startServer({ db, env = {}, args = [], port, bin, cwd } = {}) {
  port = port || await cluster.freePort();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pmtest-data-'));
  const logFile = path.join(dataDir, 'server.log');
  const out = fs.openSync(logFile, 'a');
  const proc = spawn(bin || path.join(BIN, 'printmaster-server'), args, {
    cwd,
    env: {
      ...process.env,
      DATABASE_URL: db.url,
      PORT: String(port),
      PRINTMASTER_BIND: '127.0.0.1',
      PRINTMASTER_DATA_DIR: dataDir,
      PRINTMASTER_LOG_LEVEL: 'debug',
      PRINTMASTER_THREADS: '4',
      ...env,
    },
    stdio: ['ignore', out, out],
  });
  fs.closeSync(out);
  let exited = null;
  proc.on('exit', (code, sig) => { exited = { code, sig }; });
  const url = `http://127.0.0.1:${port}`;
  const server = {
    url, port, proc, dataDir, logFile,
    log: () => fs.readFileSync(logFile, 'utf8'),
    exited: () => exited,
    // Stop with SIGTERM; a non-zero exit or any sanitizer report fails the caller.
    async stop() {
      if (!exited) {
        proc.kill('SIGTERM');
        await waitFor(() => exited, { timeout: 15000, what: 'server exit' });
      }
      const log = fs.readFileSync(logFile, 'utf8');
      const san = log.match(/(ERROR: (Address|Leak|Thread)Sanitizer|runtime error:)[^\n]*/);
      if (san) throw new Error(`sanitizer report in ${logFile}: ${san[0]}`);
      if (exited.code !== 0) throw new Error(`server exited with ${JSON.stringify(exited)}; log ${logFile}`);
      stoppedCleanly.add(dataDir);
      return exited;
    },
    kill() { if (!exited) proc.kill('SIGKILL'); },
  };
  cleanups.push(() => server.kill());
  dataDirs.push(dataDir);
  await waitFor(async () => {
    if (exited) throw new Error(`server exited early (${JSON.stringify(exited)}):\n${server.log()}`);
    const r = await fetch(url + '/healthz');
    return r.ok;
  }, { timeout: 20000, what: 'server /healthz' });
  return server;
}

// HTTP helper: returns { status, headers, json, text }.
async function api(server, method, pathName, { body, headers = {}, raw } = {}) {
  const h = { ...headers };
  let payload;
  if (raw !== undefined) payload = raw;
  else if (body !== undefined) {
    payload = JSON.stringify(body);
    if (!Object.keys(h).some((k) => k.toLowerCase() === 'content-type')) h['Content-Type'] = 'application/json';
  }
  const r = await fetch(server.url + pathName, { method, headers: h, body: payload });
  const text = await r.text();
  let json;
  try { json = text ? JSON.parse(text) : undefined; } catch (e) { json = undefined; }
  return { status: r.status, headers: r.headers, json, text };
}

// Data directories (with the server's log) go when the process ends: all of
// them when it ends well, else only those whose server stopped cleanly (the
// others are named in the failure and kept to be read).
const dataDirs = [];
const stoppedCleanly = new Set();
process.on('exit', (code) => {
  for (const f of cleanups) { try { f(); } catch (e) { /* gone */ } }
  for (const d of dataDirs) {
    if (code === 0 || stoppedCleanly.has(d)) fs.rmSync(d, { recursive: true, force: true });
  }
});

// One counter or gauge of the server's /metrics (NaN when it has none).
async function metric(server, name) {
  const m = (await api(server, 'GET', '/metrics')).text.match(new RegExp(`^${name} (\\d+)$`, 'm'));
  return m ? Number(m[1]) : NaN;
}

module.exports = {
  ROOT, BUILD, BIN, getCluster, createDatabase, seedTenant, startServer, api, metric, waitFor,
  freePort: cluster.freePort, cluster,
};
