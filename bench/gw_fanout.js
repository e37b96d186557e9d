// bench/gw_fanout.js: what the websocket gateway costs per idle connection and
// per delivered event. N clients of one company (one admin session) connect to
// a fresh server on a throwaway PostgreSQL; the server's RSS is read before and
// after; then ROUNDS bulks of P new printers are posted as the branch's agent
// and every client must receive every event of every round. CPU is the
// server's utime+stime from /proc/PID/stat over the rounds.
// Usage (ulimit -n 20000 first): node bench/gw_fanout.js [N] [ROUNDS] [P]
// PM_PERF=1 pauses before the rounds and prints the PID (for perf record -p).
// PM_IDLE_S=n first measures the server's CPU over n seconds of idle clients.
// PM_ROUND_TIMEOUT=ms: how long a round may take (default 120000).
'use strict';
const fs = require('node:fs');
const WebSocket = require('../tests/node_modules/ws');
const h = require('../tests/lib/harness');
const ak = require('../tests/lib/authkit');

const N = Number(process.argv[2] || 2000);
const ROUNDS = Number(process.argv[3] || 5);
const P = Number(process.argv[4] || 20);
const CONCURRENCY = 200;
const TICK = 100; // clock ticks per second (getconf CLK_TCK)

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function rssKiB(pid) {
  const m = fs.readFileSync(`/proc/${pid}/status`, 'utf8').match(/VmRSS:\s+(\d+) kB/);
  return Number(m[1]);
}

function cpuTicks(pid) {
  // Fields after the ")" of comm: state is field 3; utime 14, stime 15.
  const s = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
  return Number(f[11]) + Number(f[12]);
}

function threadTicks(pid) {
  const out = {};
  for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
    try {
      const s = fs.readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const comm = s.slice(s.indexOf('(') + 1, s.lastIndexOf(')'));
      const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
      out[`${comm}/${tid}`] = Number(f[11]) + Number(f[12]);
    } catch (e) { /* thread gone */ }
  }
  return out;
}

async function metric(server, name) {
  const r = await fetch(`${server.url}/metrics`);
  const m = (await r.text()).match(new RegExp(`^${name} (\\d+)`, 'm'));
  return m ? Number(m[1]) : NaN;
}

// One lean client: counts messages and batch-completed events.
function client(server, token) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${server.port}/ws`,
      { headers: { Authorization: `Bearer ${token}` }, perMessageDeflate: false });
    const c = { ws, n: 0, events: 0, rounds: 0, ready: false };
    ws.on('message', (data) => {
      c.n++;
      if (!c.ready) {
        const m = JSON.parse(data.toString());
        if (m.type === 'welcome') ws.send('{"type":"ping"}');
        else if (m.type === 'pong') { c.ready = true; resolve(c); }
        return;
      }
      c.events++;
      if (data.indexOf('batch-completed') >= 0) c.rounds++;
    });
    ws.once('error', reject);
    ws.once('close', (code) => { c.closed = code; if (!c.ready) reject(new Error(`closed ${code}`)); });
  });
}

(async () => {
  const db = await h.createDatabase();
  const s = await h.startServer({ db, env: { PRINTMASTER_LOG_LEVEL: 'warn' } });
  const pid = s.proc.pid;
  const t = await ak.tenant(db, s, { company: 'Fanout', branches: ['Main'] });
  try {
    // One client first, so lws and libpq have made their one-time allocations.
    const warm = await client(s, t.adminToken);
    await sleep(500);
    const rss0 = rssKiB(pid);
    const clients = [warm];
    const t0 = Date.now();
    for (let i = 1; i < N; i += CONCURRENCY) {
      const batch = [];
      for (let j = i; j < Math.min(N, i + CONCURRENCY); j++) batch.push(client(s, t.adminToken));
      clients.push(...await Promise.all(batch));
    }
    const connectMs = Date.now() - t0;
    await sleep(2000);
    const rss1 = rssKiB(pid);
    console.log(`clients ${N}, connected in ${connectMs} ms`);
    console.log(`server RSS ${rss0} KiB before, ${rss1} KiB with ${N} idle clients: ` +
      `${((rss1 - rss0) / (N - 1)).toFixed(2)} KiB per idle connection`);

    if (process.env.PM_IDLE_S) {
      const i0 = cpuTicks(pid);
      await sleep(Number(process.env.PM_IDLE_S) * 1000);
      console.log(`server CPU with ${N} idle clients: ${(cpuTicks(pid) - i0) * 1000 / TICK} ms ` +
        `over ${process.env.PM_IDLE_S} s`);
    }
    if (process.env.PM_PERF) {
      console.log(`server PID ${pid}; starting the rounds in 5 s`);
      await sleep(5000);
    }
    const body = (r) => JSON.stringify({ printers: Array.from({ length: P }, (_, i) => ({
      name: `R${r} P${i}`, address: `10.${r}.${i >> 8}.${i & 255}`, port: 9100,
      connectionType: 'network', protocol: 'raw', status: 'online' })) });
    const d0 = await metric(s, 'printmaster_ws_events_delivered_total');
    const c0 = cpuTicks(pid);
    const th0 = threadTicks(pid);
    const e0 = clients.reduce((a, c) => a + c.events, 0);
    const r0 = Date.now();
    const slowest = [];
    for (let r = 1; r <= ROUNDS; r++) {
      const start = Date.now();
      const res = await fetch(`${s.url}/api/v1/printing/printers/bulk`, { method: 'POST',
        headers: { 'Content-Type': 'application/json', ...t.agent(0) }, body: body(r) });
      if (res.status !== 200) throw new Error(`bulk ${r}: ${res.status} ${await res.text()}`);
      await h.waitFor(() => clients.every((c) => c.rounds >= r),
        { timeout: Number(process.env.PM_ROUND_TIMEOUT || 120000), interval: 5, what: `round ${r} on every client` }).catch((e) => {
        const late = clients.filter((c) => c.rounds < r);
        console.log(`${late.length} clients without round ${r}; first: events ${late[0].events}, closed ${late[0].closed}`);
        throw e;
      });
      slowest.push(Date.now() - start);
    }
    const wall = Date.now() - r0;
    const c1 = cpuTicks(pid);
    const th1 = threadTicks(pid);
    const e1 = clients.reduce((a, c) => a + c.events, 0);
    const d1 = await metric(s, 'printmaster_ws_events_delivered_total');
    const lost = clients.filter((c) => c.closed !== undefined).length;
    const perClient = (e1 - e0) / N;
    const cpuMs = (c1 - c0) * 1000 / TICK;
    console.log(`rounds ${ROUNDS} x ${P} printers: ${perClient} events per client ` +
      `(${e1 - e0} received, server counted ${d1 - d0}), ${lost} clients closed, ${wall} ms`);
    console.log(`slowest client per round (ms): ${slowest.join(' ')}`);
    console.log(`server CPU ${cpuMs} ms over the rounds: ` +
      `${(cpuMs * 1000 / (e1 - e0)).toFixed(3)} us per delivered event`);
    const busy = Object.keys(th1).map((k) => [k, (th1[k] - (th0[k] || 0)) * 1000 / TICK])
      .filter(([, v]) => v > 0).sort((a, b) => b[1] - a[1]);
    console.log(`by thread (ms): ${busy.map(([k, v]) => `${k} ${v}`).join(', ')}`);
    await sleep(1500);
    console.log(`server RSS after the rounds, idle again: ${rssKiB(pid)} KiB ` +
      `(${((rssKiB(pid) - rss0) / (N - 1)).toFixed(2)} KiB per connection)`);
    for (const c of clients) c.ws.terminate();
  } finally {
    await s.stop();
  }
})().catch((e) => { console.error(e); process.exit(1); });
