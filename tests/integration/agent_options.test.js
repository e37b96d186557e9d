// agent_options.test.js: agent settings around the sync: `enabled = false`
// (discovers, keeps its local state, sends nothing, says so), the statistics
// log line every stats_log_interval, and `log_file` reopened on SIGHUP after a
// rename (logrotate), for the agent and for the server.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const h = require('../lib/harness');
const sim = require('./sync_helpers');

let db, server;

test.before(async () => {
  db = await h.createDatabase();
  server = await h.startServer({ db });
});
test.after(async () => { await server.stop(); });

async function scene(name) {
  const t = h.seedTenant(db, { company: name, branches: ['Main'] });
  const key = sim.agentKey(db, t.branchId, `${name} till`);
  const net = sim.subnet();
  const port = await h.freePort();
  const p = await sim.printer(`${net.base}.1`, port);
  return { t, key, net, port, p };
}

test('enabled = false: discovers and keeps its state, sends nothing, says so at start', async () => {
  const { t, key, net, port, p } = await scene('Quiet');
  const spool = sim.tmpSpool();
  const a = sim.startAgent({ url: server.url, key, cidr: net.cidr, port, spool,
    extra: { PRINTMASTER_ENABLED: 'false' } });
  try {
    await h.waitFor(() => (a.log().match(/\[AUTO-SYNC\] scan: 1 found/g) || []).length >= 3,
      { timeout: 15000, what: 'three scans' });
    assert.match(a.log(), /\[AUTO-SYNC\] enabled = false: discovering and keeping the local state in .*, sending nothing to the server/);
    // Nothing reached the server: no printer, no batch, no presence, no stats.
    assert.equal(db.count('printers', `branch_id = '${t.branchId}'`), 0);
    assert.equal(db.count('sync_batches', `branch_id = '${t.branchId}'`), 0);
    const ag = db.one(`SELECT last_seen, hostname, stats::text AS stats FROM agents WHERE branch_id = '${t.branchId}'`);
    assert.deepEqual(ag, { last_seen: null, hostname: null, stats: '{}' });
    assert.doesNotMatch(a.log(), /\[FALLBACK\]|\[AUTH\]/);
    // The local state is kept: the snapshot knows the printer.
    const snap = fs.readFileSync(path.join(spool, 'snapshot.json'), 'utf8');
    assert.ok(snap.includes(`net:${p.host}:${port}`));
    // `sync --once` with it: discovers, sends nothing, exit 0.
    const once = await sim.runAgent(['sync', '--once'], { url: server.url, key, cidr: net.cidr, port,
      spool: sim.tmpSpool(), extra: { PRINTMASTER_ENABLED: 'false' } });
    assert.equal(once.code, 0, once.stderr);
    assert.equal(db.count('printers', `branch_id = '${t.branchId}'`), 0);
  } finally {
    await a.stop();
    await p.close();
  }
});

test('agent: the stats line every stats_log_interval; log_file reopened on SIGHUP after a rename', async () => {
  const { t, key, net, port, p } = await scene('Rotate');
  const spool = sim.tmpSpool();
  const logFile = path.join(path.dirname(spool), 'agent-own.log');
  const a = sim.startAgent({ url: server.url, key, cidr: net.cidr, port, spool,
    extra: { PRINTMASTER_LOG_FILE: logFile, PRINTMASTER_STATS_LOG_INTERVAL: '1' } });
  try {
    await h.waitFor(() => db.count('printers', `branch_id = '${t.branchId}'`) === 1, { what: 'the printer synced' });
    // The statistics it sends over the websocket carry the window's figures.
    await h.waitFor(() => {
      const st = db.one(`SELECT stats FROM agents WHERE branch_id = '${t.branchId}'`).stats;
      return st.successRate === 100 && st.processingRate > 0 && st.activeBatches === 0 &&
        st.succeededRecent >= 1 && st.failedRecent === 0 && 'p95ResponseMs' in st;
    }, { what: 'window statistics over the websocket' });
    const stats = /\[AUTO-SYNC\] stats: queue=0 rate=\d+\.\d\/min success=100% batches=[1-9]\d* retries=0 p95=\d+ms/;
    await h.waitFor(() => stats.test(fs.readFileSync(logFile, 'utf8')), { what: 'a stats line in log_file' });
    // Nothing went to stderr but what came before the file was open.
    assert.doesNotMatch(a.log(), /\[AUTO-SYNC\]/);

    fs.renameSync(logFile, `${logFile}.1`);
    const oldSize = () => fs.statSync(`${logFile}.1`).size;
    a.proc.kill('SIGHUP');
    await h.waitFor(() => fs.existsSync(logFile) && /SIGHUP: configuration read again/.test(fs.readFileSync(logFile, 'utf8')),
      { what: 'the new log file' });
    await h.waitFor(() => stats.test(fs.readFileSync(logFile, 'utf8')), { what: 'stats lines in the new file' });
    const size = oldSize();
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(oldSize(), size, 'the renamed file gets nothing more');
    assert.equal(a.exited(), null);
  } finally {
    await a.stop();
    await p.close();
  }
});

test('server: log_file reopened on SIGHUP after a rename', async () => {
  const dir = fs.mkdtempSync(path.join(path.dirname(server.dataDir), 'pmtest-log-'));
  const logFile = path.join(dir, 'server.log');
  const s = await h.startServer({ db, env: { PRINTMASTER_LOG_FILE: logFile } });
  try {
    await h.waitFor(() => /listening on/.test(fs.readFileSync(logFile, 'utf8')), { what: 'start line in log_file' });
    fs.renameSync(logFile, `${logFile}.1`);
    s.proc.kill('SIGHUP');
    await h.waitFor(() => fs.existsSync(logFile) && /SIGHUP: log file reopened/.test(fs.readFileSync(logFile, 'utf8')),
      { what: 'the reopened file' });
    const r = await h.api(s, 'GET', '/api/v1/printing/test-public');
    assert.equal(r.status, 200);
    await h.waitFor(() => /GET \/api\/v1\/printing\/test-public 200/.test(fs.readFileSync(logFile, 'utf8')),
      { what: 'a request line in the new file' });
    assert.doesNotMatch(fs.readFileSync(`${logFile}.1`, 'utf8'), /test-public/);
    assert.equal(s.exited(), null, 'SIGHUP does not stop the server');
  } finally {
    await s.stop();
    // With log_file, sanitizer reports would land there too.
    for (const f of [logFile, `${logFile}.1`]) {
      if (fs.existsSync(f)) assert.doesNotMatch(fs.readFileSync(f, 'utf8'), /ERROR: (Address|Leak)Sanitizer|runtime error:/);
    }
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
