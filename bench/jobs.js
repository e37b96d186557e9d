// bench/jobs.js: scenario 8 of make bench (bench/compare.js): print jobs
// through one real agent to a raw printer simulated on loopback. Jobs are
// created over REST with an integration key, a few at a time; the times are the
// server's own (print_jobs.created_at to finished_at, i.e. queued to the
// agent's printed answer). The peer has no print jobs: ours only.
'use strict';
const net = require('node:net');
const crypto = require('node:crypto');
const h = require('../tests/lib/harness');
const ak = require('../tests/lib/authkit');
const sim = require('../tests/integration/sync_helpers');

const JOBS = Number(process.env.BENCH_JOBS || 500);
const CONCURRENCY = 8;

// A raw printer that counts the documents (connections with bytes) it gets.
async function countingPrinter(host, port) {
  const docs = new Map();
  let n = 0;
  const srv = net.createServer((c) => {
    const id = n++;
    const chunks = [];
    c.on('data', (d) => chunks.push(d));
    c.on('close', () => { if (chunks.length) docs.set(id, Buffer.concat(chunks)); });
    c.on('error', () => {});
  });
  await new Promise((resolve, reject) => { srv.once('error', reject); srv.listen(port, host, resolve); });
  return { docs, close: () => new Promise((r) => srv.close(r)) };
}

const pct = (xs, p) => {
  const s = xs.slice().sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] : NaN;
};

async function printJobs(env, { row, log }) {
  const S = `8 print jobs (raw, ${JOBS} jobs, ${CONCURRENCY} at a time, one agent, loopback printer)`;
  const t = env.companies[0];
  const key = ak.adminOk(env.db, ['apikey', 'create', '--company', t.companyId, 'bench POS']);
  // A branch and agent of its own: the other scenarios' agents have filled
  // the tenants' branches with printers.
  const branchId = ak.adminOk(env.db, ['branch', 'create', '--company', t.companyId, 'Jobs']);
  const agentKey = ak.adminOk(env.db, ['agent', 'create', '--branch', branchId, 'jobs-agent']);
  const sub = sim.subnet();
  const port = await h.freePort();
  const printer = await countingPrinter(`${sub.base}.1`, port);
  const agent = sim.startAgent({ url: env.ours.url, key: agentKey, cidr: `${sub.base}.1/32`, port,
    spool: sim.tmpSpool(), extra: { PRINTMASTER_LOG_LEVEL: 'warn', PRINTMASTER_SCAN_INTERVAL: '60' } });
  try {
    const agentId = env.db.one(`SELECT id FROM agents WHERE branch_id = '${branchId}'`).id;
    const printerId = await h.waitFor(() => {
      const r = env.db.query(`SELECT p.id FROM printers p JOIN agents a ON a.id = '${agentId}'
        WHERE p.branch_id = '${branchId}' AND p.sources->'agents' ? '${agentId}'
        AND a.online_instance IS NOT NULL`);
      return r.length === 1 && r[0].id;
    }, { timeout: 20000, what: 'the agent reports the printer and is online' });
    const headers = { Authorization: `Bearer ${key}` };
    const one = async () => {
      const body = { title: 'bench', contentType: 'raw', content: crypto.randomBytes(300).toString('base64') };
      const r = await h.api(env.ours, 'POST', `/api/v1/printing/printers/${printerId}/jobs`, { headers, body });
      if (r.status !== 202) throw new Error(`job create: ${r.status} ${r.text}`);
      return r.json.id;
    };
    const run = async (count, conc = CONCURRENCY) => {
      const ids = [];
      let next = 0;
      await Promise.all(Array.from({ length: conc }, async () => {
        while (next < count) { next++; ids.push(await one()); }
      }));
      const list = ids.map((id) => `'${id}'`).join(',');
      await h.waitFor(() => env.db.one(`SELECT count(*)::int AS n FROM print_jobs WHERE id IN (${list})
        AND state NOT IN ('queued', 'sent')`).n === ids.length, { timeout: 120000, interval: 200,
        what: 'every job finished' });
      return list;
    };
    log(`8: print jobs, ${JOBS} through one agent`);
    await run(20);	// warm-up: connections, prepared statements
    await h.waitFor(() => printer.docs.size >= 20, { timeout: 5000, what: 'warm-up documents' });
    const before = printer.docs.size;
    const list = await run(JOBS);
    const rows = env.db.query(`SELECT state, extract(epoch from finished_at - created_at) * 1000 AS ms,
      extract(epoch from created_at) AS c, extract(epoch from finished_at) AS f
      FROM print_jobs WHERE id IN (${list})`);
    const printed = rows.filter((r) => r.state === 'printed');
    const ms = printed.map((r) => Number(r.ms));
    const span = Math.max(...rows.map((r) => Number(r.f))) - Math.min(...rows.map((r) => Number(r.c)));
    await h.waitFor(() => printer.docs.size - before >= printed.length, { timeout: 5000, what: 'documents' });
    const docs = printer.docs.size - before;
    row(S, 'jobs/s, queued to printed', printed.length / span, null);
    row(S, 'p50 queued to printed', pct(ms, 50), null, { unit: 'ms' });
    row(S, 'p99 queued to printed', pct(ms, 99), null, { unit: 'ms' });
    // One at a time: the latency of a job that finds the agent idle.
    const alone = [];
    for (let i = 0; i < 20; i++) {
      const l = await run(1, 1);
      alone.push(Number(env.db.one(`SELECT extract(epoch from finished_at - created_at) * 1000 AS ms
        FROM print_jobs WHERE id IN (${l})`).ms));
    }
    row(S, 'one job at a time: median queued to printed (of 20)', pct(alone, 50), null, { unit: 'ms' });
    row(S, 'printed; documents on the printer', `${printed.length} of ${rows.length}; ${docs}`,
      null, { target: 'all, once each', pass: printed.length === rows.length && docs === rows.length });
  } finally {
    await agent.stop();
    await printer.close();
  }
}

module.exports = { printJobs, JOBS, CONCURRENCY };
