// bench/compare.js: printmaster against the seed-like Node peer (bench/peer),
// side by side in one run on one throwaway PostgreSQL cluster (issue 10). Runs
// the scenarios, prints a table with ratios and PASS/FAIL per target, and
// writes docs/benchmarks.md. Target failures never fail the run; an error in a
// scenario is reported and makes the exit status 1.
// Started by bench/compare.sh (`make bench`), which raises `ulimit -n` first.
// Settings (environment):
//   BENCH_DURATION=10     seconds of each wrk run
//   BENCH_WARMUP=5        seconds of warm-up load before scenario 1 is measured (each side)
//   BENCH_WS_CLIENTS=10000 websocket clients in scenario 6
//   BENCH_ROUNDS=3        rounds of the small-batch and bulk scenarios (median)
//   BENCH_SEQ=50          sequential requests per case in scenario 4 (median)
//   BENCH_BIG=20000       printers in scenario 4's big branch
//   BENCH_THREADS=n       the server's HTTP workers (default: its own default)
//   BENCH_ONLY=1,3        run only these scenarios (then docs are not written)
//   BENCH_JOBS=500        print jobs in scenario 8 (bench/jobs.js)
//   BENCH_OUT=path        where to write the report (default docs/benchmarks.md, '-' none)
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const crypto = require('node:crypto');
const { spawn, execFileSync } = require('node:child_process');
const { createRequire } = require('node:module');
const { performance } = require('node:perf_hooks');
const h = require('../tests/lib/harness');
const ak = require('../tests/lib/authkit');
const benchJobs = require('./jobs');

// pg and ws come from the peer's pinned packages (bench/peer/package.json).
const peerRequire = createRequire(path.join(__dirname, 'peer', 'package.json'));
const pg = peerRequire('pg');
const WebSocket = peerRequire('ws');

const ROOT = path.resolve(__dirname, '..');
const num = (name, def) => Number(process.env[name] || def);
const CFG = {
  duration: num('BENCH_DURATION', 10),
  warmup: num('BENCH_WARMUP', 5),
  wsClients: num('BENCH_WS_CLIENTS', 10000),
  rounds: num('BENCH_ROUNDS', 3),
  seq: num('BENCH_SEQ', 50),
  big: num('BENCH_BIG', 20000),
  only: process.env.BENCH_ONLY ? process.env.BENCH_ONLY.split(',').map(Number) : null,
  out: process.env.BENCH_OUT || path.join(ROOT, 'docs', 'benchmarks.md'),
};
const MAX_PER_REQUEST = 10000;
// The server's own default for HTTP workers (the test harness pins 4), from
// its --help; BENCH_THREADS overrides.
const THREADS = process.env.BENCH_THREADS || (() => {
  try {
    const help = execFileSync(path.join(h.BIN, 'printmaster-server'), ['--help'], { encoding: 'utf8' });
    return (help.match(/--threads\b[^\n]*\[(\d+)\]/) || [])[1] || '4';
  } catch (e) { return '4'; }
})();
const LOAD_AT_START = os.loadavg()[0];
const PEER_SECRET = crypto.randomBytes(32).toString('hex');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const median = (xs) => { const s = xs.slice().sort((a, b) => a - b); return s.length ? s[Math.floor((s.length - 1) / 2)] : NaN; };
const log = (...a) => console.error('[bench]', ...a);

// Results: one row per measured pair; targets are checked on rows.
const rows = [];
const errors = [];
const loadAt = []; // the 1-minute load average as each scenario starts
function row(scenario, metric, ours, peer, { unit = '', ratio, target, pass, note } = {}) {
  rows.push({ scenario, metric, ours, peer, unit, ratio, target, pass, note });
}

// ---- processes and /proc ------------------------------------------------

// The fields of /proc/PID/stat after the command name (which may hold
// spaces): [0] is field 3 (state), [1] the parent's pid, [11] and [12] utime
// and stime.
function procStat(pid) {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}
const statCpuSeconds = (f) => (Number(f[11]) + Number(f[12])) / 100; // USER_HZ is 100 on Linux
const procCpuSeconds = (pid) => statCpuSeconds(procStat(pid));
// CPU seconds of each process of the bench's PostgreSQL cluster (the
// postmaster's children: backends, the WAL writer, autovacuum, ...): what the
// database spent, whoever asked; another cluster on the machine is not counted.
// A snapshot per process, so one that exits between two snapshots (an
// autovacuum worker with its past CPU) does not count against the interval.
function postmasterPid(db) {
  const dir = db.one("SELECT current_setting('data_directory') AS d").d;
  return fs.readFileSync(path.join(dir, 'postmaster.pid'), 'utf8').split('\n')[0];
}
function postgresCpu(postmaster) {
  const m = new Map();
  for (const d of fs.readdirSync('/proc')) {
    if (!/^[0-9]+$/.test(d)) continue;
    try {
      const f = procStat(d);
      if (f[1] === postmaster) m.set(d, statCpuSeconds(f));
    } catch { /* gone meanwhile */ }
  }
  return m;
}
// Seconds spent between two postgresCpu() snapshots by processes alive at the second.
function postgresCpuSince(postmaster, before) {
  let t = 0;
  for (const [pid, s] of postgresCpu(postmaster)) t += s - (before.get(pid) || 0);
  return t;
}

function procRssKiB(pid) {
  const m = fs.readFileSync(`/proc/${pid}/status`, 'utf8').match(/^VmRSS:\s+(\d+) kB/m);
  return Number(m[1]);
}

async function startPeer(db) {
  const port = await h.freePort();
  const logFile = path.join(os.tmpdir(), `pmbench-peer-${process.pid}.log`);
  const out = fs.openSync(logFile, 'w');
  const proc = spawn(process.execPath, ['--expose-gc', path.join(__dirname, 'peer', 'server.js')], {
    env: { ...process.env, PORT: String(port), DATABASE_URL: db.url, PEER_SECRET },
    stdio: ['ignore', out, out],
  });
  fs.closeSync(out);
  let exited = null;
  proc.on('exit', (code, sig) => { exited = { code, sig }; });
  const peer = {
    url: `http://127.0.0.1:${port}`, port, proc, logFile,
    // Its log is kept only when it did not stop cleanly.
    async stop() {
      if (!exited) {
        proc.kill('SIGTERM');
        await h.waitFor(() => exited, { timeout: 10000, what: 'peer exit' }).catch(() => proc.kill('SIGKILL'));
      }
      if (exited && exited.code === 0) fs.rmSync(logFile, { force: true });
      else errors.push(`the peer did not stop cleanly (${JSON.stringify(exited)}); its log: ${logFile}`);
    },
  };
  process.on('exit', () => { if (!exited) proc.kill('SIGKILL'); });
  await h.waitFor(async () => {
    if (exited) throw new Error(`peer exited: ${fs.readFileSync(logFile, 'utf8')}`);
    return (await fetch(peer.url + '/healthz')).ok;
  }, { timeout: 15000, what: 'peer /healthz' });
  return peer;
}

// The peer's credential: base64url(JSON) "." base64url(HMAC-SHA256).
function peerToken(companyId, branchId) {
  const payload = Buffer.from(JSON.stringify({ companyId, branchId })).toString('base64url');
  const tag = crypto.createHmac('sha256', PEER_SECRET).update(payload).digest('base64url');
  return `${payload}.${tag}`;
}

// A pg client on one of the cluster's databases.
async function pgClient(db) {
  const c = new pg.Client({ host: db.cluster.host, port: db.cluster.port, user: 'postgres', database: db.name });
  await c.connect();
  return c;
}

// wrk with one of bench/wrk/*.lua; returns the parsed BENCH line.
function wrk({ url, script, conns, headers = [], args = [], duration = CFG.duration }) {
  const a = ['-t2', `-c${conns}`, `-d${duration}s`, '--timeout', '10s',
    '-s', path.join(__dirname, 'wrk', script)];
  for (const hd of headers) a.push('-H', hd);
  a.push(url);
  if (args.length) a.push('--', ...args);
  const out = execFileSync('wrk', a, { encoding: 'utf8', timeout: (duration + 60) * 1000 });
  const line = out.split('\n').find((l) => l.startsWith('BENCH '));
  if (!line) throw new Error(`wrk printed no result:\n${out}`);
  const r = JSON.parse(line.slice(6));
  r.rps = r.requests / (r.duration_us / 1e6);
  r.errors = r.err_connect + r.err_read + r.err_write + r.err_status + r.err_timeout;
  return r;
}

// One HTTP request, timed from before fetch to the end of the body (ms).
async function timed(base, method, p, headers, body) {
  const t0 = performance.now();
  const r = await fetch(base + p, { method, headers: { 'Content-Type': 'application/json', ...headers },
    body: body === undefined ? undefined : (typeof body === 'string' ? body : JSON.stringify(body)) });
  const text = await r.text();
  const ms = performance.now() - t0;
  if (r.status !== 200) throw new Error(`${method} ${p}: ${r.status} ${text.slice(0, 300)}`);
  return { ms, json: JSON.parse(text) };
}

function printers(n, { prefix = 'P', net = 10, model = 'EPSON TM-T88VI', status = 'online' } = {}) {
  return Array.from({ length: n }, (_, i) => ({
    name: `${prefix} ${i}`, address: `${net}.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, port: 9100,
    connectionType: 'network', protocol: 'raw', makeAndModel: model, status, sources: ['netscan'] }));
}

// ---- tenants --------------------------------------------------------------

// Ours: a branch with its own agent key, made with the admin CLI.
function oursBranch(db, companyId, name) {
  const branchId = ak.adminOk(db, ['branch', 'create', '--company', companyId, name]);
  const key = ak.adminOk(db, ['agent', 'create', '--branch', branchId, `agent-${name}`]);
  return { companyId, branchId, agent: ak.bearer(key), key };
}
// The peer's branch of the same ids, with its credential.
function peerBranch(companyId, branchId) {
  const token = peerToken(companyId, branchId);
  return { companyId, branchId, token, auth: ak.bearer(token) };
}

// ---- scenarios ------------------------------------------------------------

async function smallBatches(env) {
  const { ours, peer, companies } = env;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pmbench-'));
  const oursFile = path.join(dir, 'ours.txt');
  const peerFile = path.join(dir, 'peer.txt');
  const br = companies.flatMap((c) => c.branchIds.map((b, i) => ({ c, b, key: c.agentKeys[i] })));
  fs.writeFileSync(oursFile, br.map((x) => `${x.key} ${x.b} ${x.c.companyId}\n`).join(''));
  fs.writeFileSync(peerFile, br.map((x) => `${peerToken(x.c.companyId, x.b)} ${x.b} ${x.c.companyId}\n`).join(''));
  // The everyday load is agents reporting printers the server already knows
  // (with a status change now and then): each side first gets the same
  // warm-up, which registers the branches' pools of printers, then is measured.
  log(`1: small batches, ${br.length} branches, 8 connections, ${CFG.warmup} s warm-up, ${CFG.duration} s each`);
  if (CFG.warmup > 0) {
    wrk({ url: ours.url, script: 'bulk.lua', conns: 8, args: [oursFile], duration: CFG.warmup });
    wrk({ url: peer.url, script: 'bulk.lua', conns: 8, args: [peerFile], duration: CFG.warmup });
  }
  // Rounds alternate (ours, peer, ours, peer, ...) and each figure is the
  // median of its rounds: on a shared machine a slow spell then falls on
  // both sides, or on one round of one side, not on a whole side.
  const runs = { o: [], p: [] };
  const postmaster = postmasterPid(env.db);
  for (let r = 0; r < CFG.rounds; r++) {
    log(`1: round ${r + 1} of ${CFG.rounds}`);
    for (const [side, srv, file] of [['o', ours, oursFile], ['p', peer, peerFile]]) {
      const s0 = procCpuSeconds(srv.proc.pid), d0 = postgresCpu(postmaster);
      const w = wrk({ url: srv.url, script: 'bulk.lua', conns: 8, args: [file] });
      // CPU per batch, ms: the server's process and PostgreSQL's (the other
      // side is idle meanwhile).
      w.serverMs = (procCpuSeconds(srv.proc.pid) - s0) * 1000 / w.requests;
      w.dbMs = postgresCpuSince(postmaster, d0) * 1000 / w.requests;
      runs[side].push(w);
    }
  }
  const mid = (xs) => ({ rps: median(xs.map((x) => x.rps)), p50_us: median(xs.map((x) => x.p50_us)),
    p99_us: median(xs.map((x) => x.p99_us)), errors: xs.reduce((n, x) => n + x.errors, 0),
    serverMs: median(xs.map((x) => x.serverMs)), dbMs: median(xs.map((x) => x.dbMs)) });
  const o = mid(runs.o), p = mid(runs.p);
  fs.rmSync(dir, { recursive: true, force: true });
  const S = `1 small batches (5 printers, 8 branches / 4 companies, 8 conns, after a warm-up; median of ${CFG.rounds})`;
  row(S, 'batches/s', o.rps, p.rps, { ratio: o.rps / p.rps,
    note: `rounds, ours / peer: ${runs.o.map((x, i) => `${x.rps.toFixed(0)} / ${runs.p[i].rps.toFixed(0)}`).join(', ')}` });
  row(S, 'printers/s', o.rps * 5, p.rps * 5, { ratio: o.rps / p.rps, target: '>= 5x peer', pass: o.rps >= 5 * p.rps });
  row(S, 'p50 latency', o.p50_us / 1000, p.p50_us / 1000, { unit: 'ms', ratio: o.p50_us / p.p50_us });
  row(S, 'p99 latency', o.p99_us / 1000, p.p99_us / 1000, { unit: 'ms', ratio: o.p99_us / p.p99_us,
    target: '<= 0.5x peer', pass: o.p99_us <= 0.5 * p.p99_us });
  row(S, 'errors (non-2xx, socket)', o.errors, p.errors, { target: 'ours 0', pass: o.errors === 0 });
  row(S, 'CPU per batch: server process', o.serverMs, p.serverMs, { unit: 'ms', ratio: o.serverMs / p.serverMs });
  row(S, 'CPU per batch: PostgreSQL', o.dbMs, p.dbMs, { unit: 'ms', ratio: o.dbMs / p.dbMs,
    note: `5x the peer (${(5 * p.rps).toFixed(0)} batches/s) leaves ${(2000 / (5 * p.rps)).toFixed(2)} ms of CPU per ` +
      'batch on 2 cores for everything: server, PostgreSQL and the load generator' });
  const f = floor(env);
  row(S, 'reference: PostgreSQL alone, least work a batch needs, tx/s', f, p.rps, {
    ratio: f / p.rps,
    note: `bench/pgbench/floor.sql on tables of the real shape: lock and read 5 printers, refresh them, store the ` +
      `batch record and 2 events, NOTIFY, COMMIT; no HTTP, JSON, matching or delivery. 5x the peer ` +
      `(${(5 * p.rps).toFixed(0)} batches/s) is ${(500 * p.rps / f).toFixed(0)}% of what PostgreSQL alone does here.` });
}

// Scenario 1's reference: transactions per second of bench/pgbench/floor.sql
// with 8 pgbench clients, on copies (bench_floor_*) of the bench branches'
// printers and of the batch and event tables, with their indexes and without
// triggers, after the same warm-up as the servers had.
function floor(env) {
  const { db, companies } = env;
  const branches = companies.flatMap((c) => c.branchIds);
  const inList = branches.map((b) => `'${b}'`).join(',');
  db.exec(`
    DROP TABLE IF EXISTS bench_floor_printers, bench_floor_batches, bench_floor_events, bench_floor_branches;
    CREATE TABLE bench_floor_branches AS
      SELECT row_number() OVER (ORDER BY b.id)::int AS b, b.company_id, b.id AS branch_id,
        (SELECT response_text FROM sync_batches WHERE total = 5 AND response_text IS NOT NULL LIMIT 1) AS response,
        ARRAY['printer:sync:success', 'printer:sync:batch-completed'] AS types,
        (SELECT payload FROM printer_events WHERE type = 'printer:sync:success' LIMIT 1) AS payload
      FROM branches b WHERE b.id IN (${inList});
    CREATE TABLE bench_floor_printers (LIKE printers INCLUDING ALL);
    ALTER TABLE bench_floor_printers ADD COLUMN n int;
    INSERT INTO bench_floor_printers SELECT p.*, f.b * 1000 + split_part(p.name, ' ', 2)::int
      FROM printers p JOIN bench_floor_branches f ON f.branch_id = p.branch_id
      WHERE p.name ~ '^Printer [0-9]+$';
    CREATE UNIQUE INDEX ON bench_floor_printers (n);
    CREATE TABLE bench_floor_batches (LIKE sync_batches INCLUDING ALL);
    CREATE TABLE bench_floor_events (LIKE printer_events INCLUDING ALL);
    ANALYZE bench_floor_printers, bench_floor_branches;`);
  const pgbench = (seconds) => {
    const out = execFileSync(h.cluster.pgBin('pgbench'), ['-n', '-M', 'prepared', '-c', '8', '-j', '2',
      '-T', String(seconds), '-h', db.cluster.host, '-p', String(db.cluster.port), '-U', 'postgres',
      '-f', path.join(__dirname, 'pgbench', 'floor.sql'), db.name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    const m = out.match(/^tps = ([0-9.]+)/m);
    if (!m) throw new Error(`pgbench printed no tps:\n${out}`);
    return Number(m[1]);
  };
  log(`1: reference, PostgreSQL alone (pgbench), ${CFG.warmup} s warm-up, ${CFG.duration} s`);
  if (CFG.warmup > 0) pgbench(CFG.warmup);
  const tps = pgbench(CFG.duration);
  db.exec('DROP TABLE bench_floor_printers, bench_floor_batches, bench_floor_events, bench_floor_branches');
  return tps;
}

async function list50(env) {
  const { ours, peer, companies, db } = env;
  const c = companies[0];
  const ob = oursBranch(db, c.companyId, 'List50');
  const pb = peerBranch(c.companyId, ob.branchId);
  await timed(ours.url, 'POST', '/api/v1/printing/printers/bulk', ob.agent, { printers: printers(50, { net: 11 }) });
  await timed(peer.url, 'POST', '/api/v1/printing/printers/bulk', pb.auth, { printers: printers(50, { net: 11 }) });
  const q = `/api/v1/printing/printers?branchId=${ob.branchId}&limit=50`;
  for (const [base, hd] of [[ours.url, c.admin], [peer.url, pb.auth]]) {
    const r = await timed(base, 'GET', q, hd);
    if (r.json.printers.length !== 50) throw new Error(`${base}: list returned ${r.json.printers.length} printers`);
  }
  log(`2: list of 50, 32 connections, ${CFG.duration} s each`);
  const o = wrk({ url: ours.url + q, script: 'get.lua', conns: 32, headers: [`Authorization: Bearer ${c.adminToken}`] });
  const p = wrk({ url: peer.url + q, script: 'get.lua', conns: 32, headers: [`Authorization: Bearer ${pb.token}`] });
  const S = '2 list of 50 printers (admin session, 32 conns)';
  row(S, 'requests/s', o.rps, p.rps, { ratio: o.rps / p.rps, target: '>= 3x peer', pass: o.rps >= 3 * p.rps });
  row(S, 'p50 latency', o.p50_us / 1000, p.p50_us / 1000, { unit: 'ms', ratio: o.p50_us / p.p50_us });
  row(S, 'p99 latency', o.p99_us / 1000, p.p99_us / 1000, { unit: 'ms', ratio: o.p99_us / p.p99_us });
  row(S, 'errors (non-2xx, socket)', o.errors, p.errors);
}

// One INSERT ... ON CONFLICT DO UPDATE of all rows, from an open connection,
// into a table of the printers table's original shape (sql/001_init.sql).
const UPSERT_TABLE = `
CREATE TABLE IF NOT EXISTS bench_upsert (
  id uuid NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
  company_id uuid NOT NULL, branch_id uuid NOT NULL, device_key text NOT NULL, name text NOT NULL,
  display_name text, role text, connection_type text, protocol text, address text, port integer,
  uri text, manufacturer text, model text, make_and_model text, serial_number text,
  mac_address text, uuid text, status text NOT NULL DEFAULT 'unknown',
  state_reasons text[] NOT NULL DEFAULT '{}', capabilities jsonb NOT NULL DEFAULT '{}'::jsonb,
  location text, sources jsonb NOT NULL DEFAULT '{}'::jsonb, enabled boolean NOT NULL DEFAULT true,
  first_seen timestamptz NOT NULL DEFAULT now(), last_seen timestamptz NOT NULL DEFAULT now(),
  created_at timestamptz NOT NULL DEFAULT now(), updated_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (company_id, branch_id, device_key), UNIQUE (company_id, id));
CREATE INDEX IF NOT EXISTS bench_upsert_name_idx ON bench_upsert (company_id, branch_id, lower(btrim(name)));
CREATE INDEX IF NOT EXISTS bench_upsert_addr_idx ON bench_upsert (company_id, branch_id, address, port) WHERE address IS NOT NULL;`;
const UPSERT_SQL = `
INSERT INTO bench_upsert (company_id, branch_id, device_key, name, connection_type, protocol,
  address, port, make_and_model, status, sources)
SELECT $1::uuid, $2::uuid, u.k, u.n, u.ct, u.pr, u.a, u.p, u.mm, u.st, u.src::jsonb
  FROM unnest($3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::int[], $9::text[],
              $10::text[], $11::text[]) AS u(k, n, ct, pr, a, p, mm, st, src)
ON CONFLICT (company_id, branch_id, device_key) DO UPDATE SET name = EXCLUDED.name,
  connection_type = EXCLUDED.connection_type, protocol = EXCLUDED.protocol,
  address = EXCLUDED.address, port = EXCLUDED.port, make_and_model = EXCLUDED.make_and_model,
  status = EXCLUDED.status, sources = EXCLUDED.sources, last_seen = now(), updated_at = now()`;

async function upsertOnce(client, companyId, branchId, list) {
  const t0 = performance.now();
  const col = (f) => list.map(f);
  await client.query(UPSERT_SQL, [companyId, branchId, col((p) => `net:${p.address}:${p.port}`),
    col((p) => p.name), col((p) => p.connectionType), col((p) => p.protocol), col((p) => p.address),
    col((p) => p.port), col((p) => p.makeAndModel), col((p) => p.status),
    col((p) => JSON.stringify({ methods: p.sources }))]);
  return performance.now() - t0;
}

async function bulkSizes(env) {
  const { ours, peer, companies, db } = env;
  const c = companies[1];
  const client = await pgClient(db);
  try {
    await client.query(UPSERT_TABLE);
    // Warm-up of the statement's plan and the table, not measured.
    await upsertOnce(client, c.companyId, crypto.randomUUID(), printers(100));
    for (const n of [1000, MAX_PER_REQUEST]) {
      const list = printers(n, { net: 12 });
      const body = JSON.stringify({ printers: list });
      const t = { ours: { new: [], again: [] }, upsert: { new: [], again: [] }, peer: { new: [], again: [] } };
      log(`3: bulk of ${n}, ${CFG.rounds} rounds${n === 1000 ? ' (with the peer)' : ''}`);
      for (let r = 0; r < CFG.rounds; r++) {
        const ob = oursBranch(db, c.companyId, `Bulk${n}-${r}`);
        for (const k of ['new', 'again']) {
          const res = await timed(ours.url, 'POST', '/api/v1/printing/printers/bulk', ob.agent, body);
          const want = k === 'new' ? res.json.summary.new : res.json.summary.unchanged + res.json.summary.updated;
          if (want !== n) throw new Error(`ours: ${k} round of ${n}: ${JSON.stringify(res.json.summary)}`);
          t.ours[k].push(res.ms);
        }
        const ub = crypto.randomUUID();
        t.upsert.new.push(await upsertOnce(client, c.companyId, ub, list));
        t.upsert.again.push(await upsertOnce(client, c.companyId, ub, list));
        if (n === 1000) {
          const pb = peerBranch(c.companyId, crypto.randomUUID());
          for (const k of ['new', 'again']) {
            const res = await timed(peer.url, 'POST', '/api/v1/printing/printers/bulk', pb.auth, body);
            if (res.json.summary.success !== n) throw new Error(`peer: ${JSON.stringify(res.json.summary)}`);
            t.peer[k].push(res.ms);
          }
        }
      }
      for (const k of ['new', 'again']) {
        const o = median(t.ours[k]);
        const u = median(t.upsert[k]);
        const S = `3 one bulk of ${n} printers, ${k === 'new' ? 'all new' : 'seen again'} (median of ${CFG.rounds})`;
        const lim = n === 1000 ? 3 : 2.5;
        row(S, 'ours; peer column: one-statement upsert', o, u, { unit: 'ms', ratio: o / u,
          target: `<= ${lim}x upsert`, pass: o <= lim * u });
        if (n === 1000) {
          const p = median(t.peer[k]);
          row(S, 'ours; peer', o, p, { unit: 'ms', ratio: o / p, target: '<= 0.05x (20x faster)', pass: p >= 20 * o });
        }
      }
    }
  } finally {
    await client.end();
  }
}

async function sizeIndependence(env) {
  const { ours, companies, db } = env;
  const c = companies[2];
  const big = oursBranch(db, c.companyId, 'Big');
  // The empty branch is in a company of its own: a statement whose cost grew
  // with the company's printers (not only the branch's) shows up too.
  const e = await ak.tenant(db, ours, { company: 'Bench Empty', branches: ['Small'] });
  const small = { companyId: e.companyId, branchId: e.branchId, agent: e.agent(0), admin: e.admin };
  big.admin = c.admin;
  log(`4: filling a branch with ${CFG.big} printers`);
  for (let done = 0; done < CFG.big; done += MAX_PER_REQUEST) {
    const n = Math.min(MAX_PER_REQUEST, CFG.big - done);
    const list = printers(n, { prefix: `Seed ${done / MAX_PER_REQUEST}`, net: 20 + done / MAX_PER_REQUEST });
    const r = await timed(ours.url, 'POST', '/api/v1/printing/printers/bulk', big.agent, { printers: list });
    if (r.json.summary.new !== n) throw new Error(`seeding: ${JSON.stringify(r.json.summary)}`);
  }
  // Steady state: statistics as autovacuum would have them a minute later.
  // Without this the first page's plan (and time) depends on whether
  // autovacuum happened to analyze the just-filled table yet.
  db.exec('ANALYZE');
  // The same 5 printers each time (one first request makes them new), one of
  // them changing status every time, so each batch writes a printer event too.
  const five = (i) => JSON.stringify({ printers: printers(5, { prefix: 'Till', net: 30 })
    .map((p, k) => (k === 0 && i % 2 ? { ...p, status: 'offline' } : p)) });
  const post = (b, i) => timed(ours.url, 'POST', '/api/v1/printing/printers/bulk', b.agent, five(i));
  await post(big, 0);
  await post(small, 0);
  const tb = { big: [], small: [] };
  log(`4: ${CFG.seq} sequential 5-printer batches each into the big and the empty branch`);
  for (let i = 1; i <= CFG.seq; i++) {
    tb.big.push((await post(big, i)).ms);
    tb.small.push((await post(small, i)).ms);
  }
  // The small branch gets 45 more, so both first pages hold 50 printers.
  await timed(ours.url, 'POST', '/api/v1/printing/printers/bulk', small.agent, { printers: printers(45, { prefix: 'Fill', net: 31 }) });
  const get = (b) => timed(ours.url, 'GET', `/api/v1/printing/printers?branchId=${b.branchId}&limit=50`, b.admin);
  const tl = { big: [], small: [] };
  for (let i = 0; i < CFG.seq; i++) {
    const rb = await get(big);
    const rs = await get(small);
    if (rb.json.printers.length !== 50 || rs.json.printers.length !== 50) throw new Error('list: not 50 printers');
    tl.big.push(rb.ms);
    tl.small.push(rs.ms);
  }
  const S = `4 size does not matter (ours; median of ${CFG.seq} sequential)`;
  const b1 = median(tb.big), s1 = median(tb.small), b2 = median(tl.big), s2 = median(tl.small);
  row(S, `5-printer batch into ${CFG.big} printers; peer column: into an empty branch`, b1, s1,
    { unit: 'ms', ratio: b1 / s1, target: '<= 1.2x', pass: b1 <= 1.2 * s1 });
  row(S, `list's first page (50) of ${CFG.big}; peer column: of 50`, b2, s2,
    { unit: 'ms', ratio: b2 / s2, target: '<= 1.2x', pass: b2 <= 1.2 * s2 });
}

// Scenario 5: A's bulk waits for a lock a pg session holds; B's bulk is timed.
async function tenantsWait(env) {
  const { ours, companies, db } = env;
  const A = companies[0];
  const B = companies[1];
  const five = (model) => ({ printers: printers(5, { prefix: 'Printer', net: 1, model }).map((p, i) =>
    ({ ...p, address: `10.1.0.${i}` })) });
  const bulkA = (model, extra = {}) => timed(ours.url, 'POST', '/api/v1/printing/printers/bulk',
    { ...A.agent(0), ...extra }, five(model));
  const bulkB = (model) => timed(ours.url, 'POST', '/api/v1/printing/printers/bulk', B.agent(0), five(model));
  await bulkA('M0');
  await bulkB('M0');
  const alone = [];
  for (let i = 1; i <= 5; i++) alone.push((await bulkB(`Alone${i}`)).ms);
  const S = '5 tenants do not wait (ours; A held by a pg session)';
  row(S, "B's bulk, nobody held (median of 5)", median(alone), null, { unit: 'ms' });

  const holds = [
    ["B's bulk while A waits for row locks on A's printers", async (c) => {
      await c.query(`SELECT id FROM printers WHERE branch_id = $1 FOR UPDATE`, [A.branchIds[0]]);
      return {};
    }],
    ["B's bulk while A waits at its end (held Idempotency-Key)", async (c) => {
      // An uncommitted sync_batches row with the key A's agent sends: A writes
      // its printers and events, then waits on the unique key to record its batch.
      const agent = await c.query('SELECT id FROM agents WHERE branch_id = $1', [A.branchIds[0]]);
      await c.query(`INSERT INTO sync_batches (company_id, branch_id, agent_id, idempotency_key, total)
        VALUES ($1, $2, $3, 'bench-held', 0)`, [A.companyId, A.branchIds[0], agent.rows[0].id]);
      return { 'Idempotency-Key': 'bench-held' };
    }],
  ];
  const watch = await pgClient(db);
  try {
    for (const [i, [label, hold]] of holds.entries()) {
      const c = await pgClient(db);
      let aDone = null;
      let bMs = null;
      let note = '';
      try {
        await c.query('BEGIN');
        const extra = await hold(c);
        const aP = bulkA(`Held ${i}`, extra).then((r) => { aDone = r; }, (e) => { aDone = e; });
        await h.waitFor(async () => aDone || Number((await watch.query(`SELECT count(*) AS n FROM pg_stat_activity
          WHERE datname = current_database() AND wait_event_type = 'Lock'`)).rows[0].n) >= 1,
        { timeout: 10000, what: "A's bulk to wait" });
        if (aDone) throw new Error(`A's bulk was not held: ${aDone.message || 'answered'}`);
        const t0 = performance.now();
        const bP = bulkB(`While ${i}`).then((r) => { bMs = r.ms; });
        await Promise.race([bP, sleep(2000)]);
        if (bMs === null) {
          const w = await watch.query(`SELECT wait_event, left(query, 50) AS q FROM pg_stat_activity
            WHERE datname = current_database() AND wait_event_type = 'Lock'`);
          note = `B waited for A: ${w.rows.map((x) => `${x.wait_event} (${x.q.replace(/\s+/g, ' ')}...)`).join('; ')}`;
        }
        await c.query('ROLLBACK');
        await bP;
        await aP;
        if (aDone instanceof Error) throw aDone;
        if (bMs === null) bMs = performance.now() - t0;
        row(S, label, bMs, null, { unit: 'ms', target: '< 100 ms', pass: bMs < 100,
          note: note || `A answered ${aDone.json.summary.updated} updated after the release` });
      } finally {
        await c.end();
      }
    }
  } finally {
    await watch.end();
  }
}

// Scenario 6: N websocket clients of one company, 5 rounds of one bulk each.
async function fanout(env) {
  const { ours, peer, companies, db } = env;
  const c = companies[3];
  const N = CFG.wsClients;
  const result = {};
  const client = await pgClient(db);
  const printersOf = (round) => ({ printers: printers(5, { prefix: 'Fan', net: 40, model: `Round ${round}` }) });
  try {
    for (const side of ['ours', 'peer']) {
      // Ours on a server of its own: one that ran the earlier scenarios has
      // heap to spare (a 10,000-printer bulk), which the connections would
      // reuse unseen in VmRSS.
      const srv = side === 'ours' ? await env.freshOurs() : peer;
      const pid = srv.proc.pid;
      const pb = peerBranch(c.companyId, c.branchIds[0]);
      const auth = side === 'ours' ? c.agent(0) : pb.auth;
      const token = side === 'ours' ? c.adminToken : peerToken(c.companyId, c.branchIds[0]);
      await timed(srv.url, 'POST', '/api/v1/printing/printers/bulk', auth, printersOf(0));
      // The peer collects its garbage before each RSS sample (SIGUSR2, see its server.js).
      const settle = async () => { if (side === 'peer') srv.proc.kill('SIGUSR2'); await sleep(1000); };
      await settle();
      const rss0 = procRssKiB(pid);
      log(`6: ${side}: connecting ${N} websocket clients`);
      const clients = [];
      let received = 0;
      let refreshes = 0;
      let closedEarly = 0;
      const connectOne = () => new Promise((resolve, reject) => {
        const ws = new WebSocket(`ws://127.0.0.1:${srv.port}/ws?token=${encodeURIComponent(token)}`,
          { perMessageDeflate: false });
        const cl = { ws, count: 0, lastAt: 0, open: false };
        clients.push(cl);
        ws.on('message', (data) => {
          const m = JSON.parse(data);
          if (!cl.open) {
            // ours: welcome, then our ping's pong makes events flow live; the peer: welcome
            if (side === 'ours' && m.type === 'welcome') { ws.send('{"type":"ping"}'); return; }
            cl.open = true;
            resolve(cl);
            return;
          }
          if (m.type !== 'event') return;
          if (m.event === 'printer:refresh-required') { refreshes++; return; }
          cl.count++;
          received++;
          cl.lastAt = performance.now();
        });
        ws.on('error', (e) => { if (!cl.open) reject(e); });
        ws.on('close', () => { if (cl.open && !cl.closing) closedEarly++; if (!cl.open) reject(new Error('closed before welcome')); });
      });
      const t0 = performance.now();
      try {
        for (let i = 0; i < N; i += 500) {
          const batch = [];
          for (let j = i; j < Math.min(N, i + 500); j++) batch.push(connectOne());
          await Promise.all(batch);
        }
        const connectS = (performance.now() - t0) / 1000;
        await settle();
        const rss1 = procRssKiB(pid);
        const cpu0 = procCpuSeconds(pid);
        let lastId = side === 'ours' ? Number((await client.query(
          'SELECT coalesce(max(id), 0) AS m FROM printer_events WHERE company_id = $1', [c.companyId])).rows[0].m) : 0;
        let expected = 0;
        const slowest = [];
        received = 0;
        for (const cl of clients) cl.count = 0;
        log(`6: ${side}: 5 rounds`);
        for (let round = 1; round <= 5; round++) {
          const start = performance.now();
          await timed(srv.url, 'POST', '/api/v1/printing/printers/bulk', auth, printersOf(round));
          if (side === 'ours') {
            const r = await client.query('SELECT count(*) AS n, max(id) AS m FROM printer_events WHERE company_id = $1 AND id > $2',
              [c.companyId, lastId]);
            expected += Number(r.rows[0].n);
            lastId = Number(r.rows[0].m);
          } else {
            expected += 6; // one event per printer and one batch-completed
          }
          const want = expected * N;
          await h.waitFor(() => received >= want, { timeout: 30000, interval: 20, what: 'events' }).catch(() => {});
          // Of the clients that got anything this round (a missing event is counted apart).
          const mx = clients.reduce((a, cl) => (cl.lastAt >= start ? Math.max(a, cl.lastAt - start) : a), -Infinity);
          slowest.push(mx === -Infinity ? NaN : mx);
        }
        const cpu1 = procCpuSeconds(pid);
        // Per client: what it lacks, and what it got twice (a total could hide both).
        const missing = clients.reduce((a, cl) => a + Math.max(0, expected - cl.count), 0);
        const extra = clients.reduce((a, cl) => a + Math.max(0, cl.count - expected), 0);
        result[side] = { connectS, rssPerConn: (rss1 - rss0) / N, rss0, rss1, cpuPerEventUs: (cpu1 - cpu0) * 1e6 / Math.max(1, received),
          cpu: cpu1 - cpu0, received, expected: expected * N, missing, extra, refreshes, closedEarly,
          slowestMedian: median(slowest), slowestMax: Math.max(...slowest), perRound: expected / 5 };
        log(`6: ${side}: ${JSON.stringify(result[side])}`);
      } finally {
        for (const cl of clients) { cl.closing = true; cl.ws.terminate(); }
        if (srv !== peer) await srv.stop().catch((e) => errors.push(`ours (fan-out): ${e.message}`));
      }
      await sleep(2000);
    }
  } finally {
    await client.end();
  }
  const o = result.ours;
  const p = result.peer;
  const S = `6 websocket fan-out (${N} clients of one company, 5 rounds of one 5-printer bulk)`;
  row(S, 'events per round per client', o.perRound, p.perRound);
  row(S, 'events missing (of clients x events)', o.missing, p.missing, { target: 'ours 0',
    pass: o.missing === 0 && o.extra === 0 && o.refreshes === 0,
    note: `ours: ${o.received} of ${o.expected} delivered, ${o.extra} extra, ${o.refreshes} refresh-required, ` +
      `${o.closedEarly} closed; peer: ${p.received} of ${p.expected}, ${p.extra} extra` });
  row(S, 'server CPU per delivered event', o.cpuPerEventUs, p.cpuPerEventUs, { unit: 'us', ratio: o.cpuPerEventUs / p.cpuPerEventUs,
    target: '<= 0.5x peer', pass: o.cpuPerEventUs <= 0.5 * p.cpuPerEventUs, note: `CPU ${o.cpu.toFixed(2)} s vs ${p.cpu.toFixed(2)} s` });
  row(S, 'slowest client, POST start to last event (median of rounds)', o.slowestMedian, p.slowestMedian, { unit: 'ms',
    ratio: o.slowestMedian / p.slowestMedian, target: '<= peer', pass: o.slowestMedian <= p.slowestMedian,
    note: `worst round ${o.slowestMax.toFixed(0)} vs ${p.slowestMax.toFixed(0)} ms` });
  row(S, 'server RSS per idle connection', o.rssPerConn, p.rssPerConn, { unit: 'KiB', ratio: o.rssPerConn / p.rssPerConn,
    target: '< 8 KiB', pass: o.rssPerConn < 8, note: `VmRSS ${o.rss0}->${o.rss1} KiB vs ${p.rss0}->${p.rss1} KiB` });
  row(S, 'time to connect every client', o.connectS, p.connectS, { unit: 's', ratio: o.connectS / p.connectS });
}

async function healthz(env) {
  log(`7: /healthz, 32 connections, ${CFG.duration} s`);
  const o = wrk({ url: env.ours.url + '/healthz', script: 'get.lua', conns: 32 });
  const S = '7 /healthz (32 conns; the HTTP layer alone)';
  row(S, 'requests/s', o.rps, null);
  row(S, 'p99 latency', o.p99_us / 1000, null, { unit: 'ms' });
  row(S, 'errors', o.errors, null);
}

// ---- report ---------------------------------------------------------------

const fmt = (v, unit) => {
  if (v === null || v === undefined) return '';
  if (typeof v === 'string') return v;
  if (!Number.isFinite(v)) return String(v);
  if (Number.isInteger(v) && !unit) return v.toLocaleString('en-US');
  const a = Math.abs(v);
  const s = a >= 1000 ? Math.round(v).toLocaleString('en-US') : a >= 100 ? v.toFixed(0) : a >= 10 ? v.toFixed(1) : v.toFixed(2);
  return unit ? `${s} ${unit}` : s;
};

function table() {
  const head = ['scenario / metric', 'ours', 'peer', 'ours/peer', 'target', 'result'];
  const lines = [];
  let last = '';
  for (const r of rows) {
    if (r.scenario !== last) { lines.push([r.scenario]); last = r.scenario; }
    lines.push([`  ${r.metric}`, fmt(r.ours, r.unit), fmt(r.peer, r.unit),
      r.ratio === undefined || !Number.isFinite(r.ratio) ? '' : `${r.ratio.toFixed(2)}x`,
      r.target || '', r.target ? (r.pass ? 'PASS' : 'FAIL') : '']);
  }
  return { head, lines };
}

function printTable() {
  const { head, lines } = table();
  const w = head.map((x, i) => Math.max(x.length, ...lines.filter((l) => l.length > 1).map((l) => (l[i] || '').length)));
  const out = [head.map((x, i) => x.padEnd(w[i])).join('  ')];
  for (const l of lines) out.push(l.length === 1 ? l[0] : l.map((x, i) => (i ? x.padStart(w[i]) : x.padEnd(w[i]))).join('  '));
  for (const r of rows) if (r.note) out.push(`note (${r.scenario.split(' ')[0]}, ${r.metric}): ${r.note}`);
  for (const e of errors) out.push(`ERROR ${e}`);
  console.log(out.join('\n'));
}

function machine() {
  const cpu = (fs.readFileSync('/proc/cpuinfo', 'utf8').match(/^model name\s*:\s*(.*)$/m) || [])[1] || 'unknown';
  const mem = Number((fs.readFileSync('/proc/meminfo', 'utf8').match(/^MemTotal:\s+(\d+)/m) || [])[1] || 0);
  const git = (args) => { try { return execFileSync('git', args, { cwd: ROOT, encoding: 'utf8' }).trim(); } catch (e) { return '?'; } };
  const pgv = (() => { try { return execFileSync('psql', ['--version'], { encoding: 'utf8' }).trim(); } catch (e) { return '?'; } })();
  return { nproc: os.cpus().length, cpu, memGiB: (mem / 1048576).toFixed(1), date: new Date().toISOString(),
    commit: git(['rev-parse', '--short=12', 'HEAD']), dirty: git(['status', '--porcelain', '--untracked-files=no']) !== '',
    branch: git(['rev-parse', '--abbrev-ref', 'HEAD']), node: process.version, pg: pgv,
    wrk: (() => { try { return execFileSync('wrk', ['-v'], { encoding: 'utf8' }).split(' Copyright')[0]; } catch (e) { return (e.stdout || '').split(' Copyright')[0]; } })() };
}

function markdown(m, seconds) {
  const { lines } = table();
  const md = [];
  md.push('# Benchmarks: printmaster against a seed-like peer', '',
    'Written by `make bench` (bench/compare.js); do not edit by hand. Every pair was measured in one',
    'run, on one throwaway PostgreSQL cluster (fsync off), on loopback. The peer (`bench/peer/`) is a',
    'small Node server doing what the seed\'s NestJS module did: per printer one SELECT by branch and',
    'name, then one INSERT or UPDATE, no transaction, and a broadcast to every websocket client.',
    'Targets are those of issue 10.', '',
    '## Machine and run', '',
    `* ${m.nproc} CPUs (${m.cpu}), ${m.memGiB} GiB RAM, ${os.type()} ${os.release()}`,
    `* ${m.pg}; node ${m.node}; ${m.wrk}`,
    `* date ${m.date}; commit ${m.commit}${m.dirty ? ' (with uncommitted changes)' : ''} on ${m.branch}; the run took ${seconds.toFixed(0)} s`,
    `* load average (1 min) when the run started: ${LOAD_AT_START.toFixed(2)}; as each scenario started: ${loadAt.join(', ')}`,
    '  (the bench itself adds about 2 from scenario 2 on; much more means something else was using the cores)',
    `* settings: BENCH_DURATION=${CFG.duration} BENCH_WARMUP=${CFG.warmup} BENCH_WS_CLIENTS=${CFG.wsClients} BENCH_ROUNDS=${CFG.rounds} BENCH_SEQ=${CFG.seq} BENCH_BIG=${CFG.big} BENCH_THREADS=${THREADS}`,
    `* the server ran with its defaults (${THREADS} HTTP threads) except max_printers_per_request 10000,`,
    '  max_body_bytes 32 MiB and log_level warn; load generators (wrk -t2, one Node process for',
    '  the websocket clients) share the 2 cores with the server and PostgreSQL.', '',
    '## Results', '',
    '| scenario / metric | ours | peer | ours/peer | target | result |', '|---|---:|---:|---:|---|---|');
  for (const l of lines) {
    if (l.length === 1) md.push(`| **${l[0]}** | | | | | |`);
    else md.push(`| ${l[0].trim()} | ${l[1]} | ${l[2]} | ${l[3]} | ${l[4]} | ${l[5] ? `**${l[5]}**` : ''} |`);
  }
  const notes = rows.filter((r) => r.note);
  if (notes.length || errors.length) {
    md.push('', 'Notes:', '');
    for (const r of notes) md.push(`* ${r.scenario.split(' ')[0]}, ${r.metric}: ${r.note}`);
    for (const e of errors) md.push(`* ERROR ${e}`);
  }
  md.push('', '## What each scenario does', '',
    '1. wrk (`bench/wrk/bulk.lua`), 2 threads, 8 connections: each request is the agent of the next of 8',
    '   branches in 4 companies (its own `pmk_` key; the peer: an HMAC token) sending 5 distinct printers',
    '   drawn from that branch\'s 200, 1 in 20 reported offline, with an Idempotency-Key. printers/s = 5 x batches/s.',
    '   After a warm-up of each side, rounds of BENCH_DURATION seconds alternate between ours and the peer;',
    '   each figure is the median of its side\'s rounds (errors: their sum). CPU per batch: utime+stime',
    '   of the server\'s process and of the bench cluster\'s PostgreSQL processes (`/proc`) over a round, per batch.',
    '   Reference row: pgbench, 8 clients, `bench/pgbench/floor.sql` on copies of the bench branches\' printers',
    '   and of the batch and event tables (same columns and indexes, no triggers): the least work a batch',
    '   needs in PostgreSQL while keeping the guarantees (lock and read 5 printers, refresh them, store the',
    '   batch record and its 2 events, NOTIFY, COMMIT), with no HTTP, JSON, matching or delivery. It bounds',
    '   what any server on this machine could do; the note says how much of it 5x the peer would take.',
    '2. wrk, 32 connections: `GET /api/v1/printing/printers?branchId=...&limit=50` of a branch holding 50',
    '   printers, as a company admin\'s session (`Authorization: Bearer`).',
    '3. One bulk of 1,000 printers into a fresh branch (all new), then the same again (seen again), median',
    '   of the rounds; against one `INSERT ... SELECT FROM unnest(...) ON CONFLICT DO UPDATE` of the same',
    '   rows from an open `pg` connection into a scratch table of the printers table\'s shape, and against',
    '   the peer. The same for 10,000 printers, without the peer (it takes about ten seconds each).',
    '4. A branch filled with the big count of printers through the API, then `ANALYZE` (the statistics',
    '   autovacuum would have a minute later; without it the plans, and times, vary from run to run),',
    '   and an empty branch in a company of its own: sequential 5-printer batches (the same 5, seen',
    '   again, one of them changing status each time, so each batch also writes a printer event)',
    '   alternating between them; then the list\'s first page (limit 50) of the big branch against a',
    '   branch of 50 printers.',
    '5. A `pg` session opens a transaction holding what company A\'s bulk needs; A\'s bulk waits; company',
    '   B\'s bulk is timed (given up after 2 s, then the session rolls back). Held: row locks on A\'s printers',
    '   (`SELECT ... FOR UPDATE`), or an uncommitted `sync_batches` row with the Idempotency-Key A\'s agent',
    '   sends, which stalls A at the end of its transaction after its printers and events are written.',
    '6. N websocket clients of one company (ours: a company admin\'s session token in `?token=`, one ping',
    '   so events flow live; the peer: every client gets every broadcast), 5 rounds of one 5-printer bulk',
    '   that changes every printer. Every client must receive every event. CPU is the server process\'s',
    '   utime+stime from `/proc/PID/stat` over the rounds, divided by the events delivered; RSS per',
    '   connection is VmRSS with the clients idle minus before, divided by N (ours on a server started',
    '   for this scenario). The slowest client\'s time is dominated by the one Node process receiving',
    '   N x events on the same 2 cores.',
    '7. wrk, 32 connections, `GET /healthz`: the HTTP layer alone.',
    `8. (\`bench/jobs.js\`) One real agent that found a raw printer (a loopback listener) with its netscan;`,
    `   ${benchJobs.JOBS} raw jobs of 300 bytes created over REST with a \`pmi_\` key, ${benchJobs.CONCURRENCY} at a time, after 20 of warm-up.`,
    '   Times are the server\'s: `created_at` to `finished_at` (the agent\'s `printed`); jobs/s is the jobs',
    '   printed over the span from the first creation to the last answer. The printer must get each once.', '',
    '## Reading the numbers', '',
    '* The peer does less than printmaster: it matches by name only, keeps no event log, has no',
    '  idempotency and no transaction (two agents reporting one printer at once can make two rows), and',
    '  checks its bearer token without the database (as the seed\'s JWT guard did). It is not made slow on',
    '  purpose: a pool of 10 connections, an index that matches its lookup, each event serialized once.',
    '* Scenario 5\'s first case passes even on a server with a lock shared by every tenant when that lock',
    '  is taken after the printers are locked; the second case holds A after its printers and events are',
    '  written, which is where such a lock shows. It relies on `sync_batches` (company_id, branch_id,',
    '  agent_id, idempotency_key, total) and its unique key on the Idempotency-Key (sql/001_init.sql);',
    '  `tests/integration/tenants_wait.test.js` checks the same two cases by order of answers.',
    '* Every load generator runs on the same 2 cores as the servers and PostgreSQL, and the machine may',
    '  be shared: compare ratios within one run, look at the load average above, and run again when in doubt.', '',
    '## Reproduce', '',
    '```sh',
    'scripts/install-deps     # Debian packages (wrk among them) and test packages',
    'make -j2 && make bench   # about 3-5 minutes; rewrites this file',
    '# smaller or partial runs print the table and leave this file alone:',
    'BENCH_DURATION=3 BENCH_WS_CLIENTS=2000 BENCH_ONLY=1,6 bench/compare.sh',
    '```', '');
  return md.join('\n');
}

// ---- main -----------------------------------------------------------------

async function main() {
  const t0 = performance.now();
  const want = (n) => !CFG.only || CFG.only.includes(n);
  const db = await h.createDatabase();
  const pdb = await h.createDatabase();
  const oursEnv = {
    PRINTMASTER_LOG_LEVEL: 'warn',
    PRINTMASTER_THREADS: THREADS,
    PRINTMASTER_MAX_PRINTERS_PER_REQUEST: String(MAX_PER_REQUEST),
    PRINTMASTER_MAX_BODY_BYTES: String(32 << 20),
    PRINTMASTER_LOGIN_RATE_LIMIT: '10000',
  };
  const ours = await h.startServer({ db, env: oursEnv });
  // Another of ours on the same database and signing key (the sessions made
  // for the tenants stay valid), fresh.
  const freshOurs = () => h.startServer({ db, env: { ...oursEnv, PRINTMASTER_DATA_DIR: ours.dataDir } });
  const peer = await startPeer(pdb);
  log(`ours ${ours.url} (pid ${ours.proc.pid}), peer ${peer.url} (pid ${peer.proc.pid})`);
  const companies = [];
  for (let i = 0; i < 4; i++) {
    companies.push(await ak.tenant(db, ours, { company: `Bench ${i}`, branches: [`B${i}a`, `B${i}b`] }));
  }
  const env = { db, pdb, ours, peer, companies, freshOurs };
  const scenarios = [[1, smallBatches], [2, list50], [3, bulkSizes], [4, sizeIndependence],
    [5, tenantsWait], [6, fanout], [7, healthz], [8, (e) => benchJobs.printJobs(e, { row, log })]];
  try {
    for (const [n, fn] of scenarios) {
      if (!want(n)) continue;
      loadAt.push(`${n}: ${os.loadavg()[0].toFixed(1)}`);
      // wrk and pgbench run synchronously and block this event loop (scenario
      // 1 for about 90 s): let it see the keep-alive sockets the servers
      // closed meanwhile (ours after 60 s idle), or fetch reuses a dead one.
      await new Promise((r) => setTimeout(r, 200));
      try {
        await fn(env);
      } catch (e) {
        log(`scenario ${n} failed: ${e.stack || e}`);
        errors.push(`scenario ${n}: ${e.message}`);
      }
    }
  } finally {
    await peer.stop();
    await ours.stop().catch((e) => errors.push(`ours: ${e.message}`));
  }
  const seconds = (performance.now() - t0) / 1000;
  printTable();
  if (!CFG.only && CFG.out !== '-') {
    fs.writeFileSync(CFG.out, markdown(machine(), seconds));
    log(`wrote ${path.relative(process.cwd(), CFG.out)} (${seconds.toFixed(0)} s)`);
  }
  process.exitCode = errors.length ? 1 : 0;
}

for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(130));
main().catch((e) => { console.error(e); process.exit(1); });
