// gateway_slow.test.js: a client that never reads. Tens of megabytes of events
// flow; the reader gets every one, the stalled client is told to refresh and
// closed, the queue gauge stays under its bound and the server's RSS with it.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const { promisify } = require('node:util');
const execFile = promisify(require('node:child_process').execFile);
const h = require('../lib/harness');
const w = require('../lib/wskit');

const QMAX = 64;
const BATCHES = 10;
const PER = 2000;
const PAD = 4000;	// bytes of payload per event: 80 MB in all

function rssKiB(pid) {
  const m = fs.readFileSync(`/proc/${pid}/status`, 'utf8').match(/VmRSS:\s+(\d+) kB/);
  return Number(m[1]);
}

function metric(text, name) {
  const m = text.match(new RegExp(`^${name} (\\d+)$`, 'm'));
  return m ? Number(m[1]) : NaN;
}

test('a stalled client cannot grow the server past its bound', async (t) => {
  const db = await h.createDatabase();
  // Under AddressSanitizer freed memory sits in a quarantine (256 MB by
  // default) that would count as growth: keep it small for this server.
  const asan = process.env.SAN ? { ASAN_OPTIONS: `${process.env.ASAN_OPTIONS || ''}:quarantine_size_mb=8:thread_local_quarantine_size_kb=256` } : {};
  const s = await h.startServer({ db, env: { PRINTMASTER_WS_QUEUE_MAX: String(QMAX),
    PRINTMASTER_LOG_LEVEL: 'info', ...asan } });
  t.after(() => s.stop());
  const T = await w.tenants(db, s);
  const reader = await w.connect(s, { token: T.tok.adminA });
  const stalled = await w.connect(s, { token: T.tok.viewerA1 });
  t.after(() => Promise.all([reader.close(), stalled.close()]));
  stalled.ws._socket.pause();	// reads nothing from here on
  const rss0 = rssKiB(s.proc.pid);

  // psql runs asynchronously: the reader must keep reading meanwhile.
  for (let b = 0; b < BATCHES; b++) {
    await execFile('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-h', db.cluster.host,
      '-p', String(db.cluster.port), '-U', 'postgres', '-d', db.name, '-c', `WITH ins AS (
        INSERT INTO printer_events (company_id, branch_id, type, payload)
        SELECT '${T.A.companyId}', '${T.a1}', 'printer:status',
          jsonb_build_object('n', g, 'pad', repeat('x', ${PAD}))
        FROM generate_series(${b * PER + 1}, ${(b + 1) * PER}) g ORDER BY g RETURNING id)
      SELECT pg_notify('printmaster_events', '${T.A.companyId}:' || min(id) || ':' || max(id))
      FROM ins;`]);
  }
  let peakQueued = 0;
  let peakRss = 0;
  await h.waitFor(async () => {
    const mt = (await h.api(s, 'GET', '/metrics')).text;
    peakQueued = Math.max(peakQueued, metric(mt, 'printmaster_ws_queued_messages'));
    peakRss = Math.max(peakRss, rssKiB(s.proc.pid));
    return reader.events().length === BATCHES * PER;
  }, { timeout: 60000, interval: 100, what: 'the reader to get every event' });
  const ev = reader.events();
  for (let i = 1; i < ev.length; i++) assert.ok(ev[i].id > ev[i - 1].id);
  assert.equal(ev[ev.length - 1].data.n, BATCHES * PER);

  const mt = (await h.api(s, 'GET', '/metrics')).text;
  assert.equal(metric(mt, 'printmaster_ws_overflows_total'), 1);
  assert.ok(peakQueued <= 2 * QMAX, `queued ${peakQueued}`);
  assert.ok(metric(mt, 'printmaster_ws_events_delivered_total') >= BATCHES * PER);
  // 80 MB went through (twice that as branch and company envelopes); the
  // server holds at most the inbox bound and the queues.
  const grew = (peakRss - rss0) / 1024;
  t.diagnostic(`RSS grew by ${grew.toFixed(1)} MB; peak queued ${peakQueued}`);
  assert.ok(grew < (process.env.SAN ? 64 : 48), `RSS grew by ${grew.toFixed(1)} MB`);

  // The stalled client is closed within the overflow grace period.
  stalled.ws._socket.resume();
  await h.waitFor(() => stalled.closed, { timeout: 15000, what: 'the stalled client to be closed' });
  const seen = stalled.events();
  assert.ok(seen.length < BATCHES * PER);
  if (seen.length && seen[seen.length - 1].event === 'printer:refresh-required')
    assert.equal(seen[seen.length - 1].data.reason, 'slow-consumer');
  await h.waitFor(async () => metric((await h.api(s, 'GET', '/metrics')).text,
    'printmaster_ws_clients') === 1, { what: 'one client left' });

  // A replay longer than the queue is paced by the client and stops at 1000
  // events with a refresh-required; live delivery goes on after it.
  const late = await w.connect(s, { token: T.tok.viewerA1 });
  t.after(() => late.close());
  late.send({ type: 'subscribe', since: 0 });
  const refresh = await late.next((m) => m.event === 'printer:refresh-required', { timeout: 30000 });
  assert.deepEqual(refresh.data, { reason: 'replay-limit', count: 1000 });
  const replayed = late.events().slice(0, -1);
  assert.equal(replayed.length, 1000);
  assert.deepEqual(replayed.map((e) => e.data.n), Array.from({ length: 1000 }, (_, i) => i + 1));
  assert.ok(refresh.id >= ev[ev.length - 1].id);
  await w.rename(s, T.tok.adminA, T.printers.a1, 'After the replay');
  const live = await late.next((m) => m.event === 'printer:updated');
  assert.equal(live.data.printer.displayName, 'After the replay');
  assert.ok(live.id > refresh.id);
  assert.equal(late.events().length, 1002);
});
