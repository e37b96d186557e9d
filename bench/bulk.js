// bench/bulk.js: what one bulk request of N printers costs, against the way the
// product this replaces did it (one SELECT plus one INSERT or UPDATE per printer
// over one open connection), measured in the same run on the same database.
// Usage: node bench/bulk.js [N] [ROUNDS]. Prints medians and ratios.
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const h = require('../tests/lib/harness');
const ak = require('../tests/lib/authkit');

const N = Number(process.argv[2] || 1000);
const ROUNDS = Number(process.argv[3] || 5);
const median = (xs) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)];

(async () => {
  const db = await h.createDatabase();
  const s = await h.startServer({ db, env: { PRINTMASTER_LOG_LEVEL: 'warn' } });
  const t = await ak.tenant(db, s, { company: 'Bench', branches: ['Ours', 'Baseline'] });
  const printers = Array.from({ length: N }, (_, i) => ({
    name: `Printer ${i}`, address: `10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`, port: 9100,
    connectionType: 'network', protocol: 'raw', makeAndModel: 'EPSON TM-T88VI', sources: ['netscan'] }));
  // Sent as the branch's agent would send it, with its key.
  const body = JSON.stringify({ printers });

  async function ours() {
    const t0 = process.hrtime.bigint();
    const r = await fetch(`${s.url}/api/v1/printing/printers/bulk`, { method: 'POST',
      headers: { 'Content-Type': 'application/json', ...t.agent(0) }, body });
    const j = await r.json();
    if (r.status !== 200 || j.summary.failed) throw new Error(`bulk failed: ${r.status}`);
    return Number(process.hrtime.bigint() - t0) / 1e6;
  }

  // The baseline: 2N statements, each its own round trip, in one transaction.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pmbench-'));
  const script = path.join(dir, 'baseline.sql');
  const q = (v) => `'${String(v).replace(/'/g, "''")}'`;
  let sql = 'BEGIN;\n';
  for (const p of printers) {
    const key = `net:${p.address}:${p.port}`;
    sql += `SELECT id FROM printers WHERE company_id = ${q(t.companyId)} AND branch_id = ${q(t.branchIds[1])} AND device_key = ${q(key)};\n`;
    sql += `INSERT INTO printers (company_id, branch_id, device_key, name, address, port, connection_type, protocol, make_and_model, status) ` +
      `VALUES (${q(t.companyId)}, ${q(t.branchIds[1])}, ${q(key)}, ${q(p.name)}, ${q(p.address)}, ${p.port}, 'network', 'raw', ${q(p.makeAndModel)}, 'online') ` +
      'ON CONFLICT (company_id, branch_id, device_key) DO UPDATE SET name = EXCLUDED.name, last_seen = now();\n';
  }
  sql += 'COMMIT;\n';
  fs.writeFileSync(script, sql);
  const c = db.cluster;
  function baseline() {
    const t0 = process.hrtime.bigint();
    execFileSync('psql', ['-X', '-q', '-o', '/dev/null', '-v', 'ON_ERROR_STOP=1', '-h', c.host,
      '-p', String(c.port), '-U', 'postgres', '-d', db.name, '-f', script]);
    return Number(process.hrtime.bigint() - t0) / 1e6;
  }
  // psql's own start-up, subtracted so the baseline is only its statements.
  function psqlStartup() {
    const t0 = process.hrtime.bigint();
    execFileSync('psql', ['-X', '-q', '-h', c.host, '-p', String(c.port), '-U', 'postgres', '-d', db.name, '-c', 'SELECT 1']);
    return Number(process.hrtime.bigint() - t0) / 1e6;
  }

  try {
    const first = { ours: await ours(), baseline: baseline() };
    const again = { ours: [], baseline: [], startup: [] };
    for (let i = 0; i < ROUNDS; i++) {
      again.ours.push(await ours());
      again.baseline.push(baseline());
      again.startup.push(psqlStartup());
    }
    const base = Math.max(1, median(again.baseline) - median(again.startup));
    const row = (label, a, b) => console.log(`${label.padEnd(34)} ${a.toFixed(1).padStart(9)} ms ${b.toFixed(1).padStart(9)} ms ${(b / a).toFixed(1).padStart(7)}x`);
    console.log(`bulk registration of ${N} printers (median of ${ROUNDS}; baseline = one SELECT + one upsert per printer)`);
    console.log(`${''.padEnd(34)} ${'ours'.padStart(12)} ${'baseline'.padStart(12)} ${'ratio'.padStart(8)}`);
    row('first sight (all new)', first.ours, first.baseline);
    row('seen again (all unchanged)', median(again.ours), base);
    const stmts = Number(db.one('SELECT count(*) AS n FROM sync_batches').n);
    console.log(`batches recorded: ${stmts}; ours includes HTTP, JSON, validation, matching, events`);
  } finally {
    await s.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
})().catch((e) => { console.error(e); process.exit(1); });
