// bench/peer/server.js: the seed's design in plain Node, the peer `make bench`
// measures printmaster against. Like the seed's NestJS module it handles a bulk
// row by row: per printer one SELECT by branch and normalized name, then one
// INSERT or UPDATE, each on its own (no transaction), and broadcasts a printer
// event to every websocket client. Honest: a pool of 10 connections, an index
// that matches its lookup, events serialized once; it only does less (no
// identity rules, no event log, no idempotency).
// Env: PORT, DATABASE_URL, PEER_SECRET (HMAC key of the bearer tokens).
'use strict';
const http = require('node:http');
const crypto = require('node:crypto');
const { Pool } = require('pg');
const { WebSocketServer, WebSocket } = require('ws');

const PORT = Number(process.env.PORT || 3002);
const SECRET = process.env.PEER_SECRET || 'peer-secret';
const MAX_BODY = 32 * 1024 * 1024;
const pool = new Pool({ connectionString: process.env.DATABASE_URL, max: 10 });
// An idle connection that breaks (the cluster going away) is logged, not fatal.
pool.on('error', (e) => console.error(`peer: idle connection: ${e.message}`));

const SCHEMA = `
CREATE TABLE IF NOT EXISTS printers (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  company_id uuid NOT NULL, branch_id uuid NOT NULL,
  name text NOT NULL, display_name text, role text,
  connection_type text, protocol text, address text, port integer, uri text,
  manufacturer text, model text, make_and_model text, serial_number text,
  mac_address text, uuid text, status text NOT NULL DEFAULT 'unknown',
  state_reasons text[] NOT NULL DEFAULT '{}', capabilities jsonb NOT NULL DEFAULT '{}',
  location text, sources jsonb NOT NULL DEFAULT '[]', enabled boolean NOT NULL DEFAULT true,
  first_seen timestamptz NOT NULL DEFAULT now(), last_seen timestamptz NOT NULL DEFAULT now(),
  created_at timestamptz NOT NULL DEFAULT now(), updated_at timestamptz NOT NULL DEFAULT now());
CREATE INDEX IF NOT EXISTS printers_branch_name_idx ON printers (branch_id, lower(name));`;

// Discovered fields: body name -> column.
const FIELDS = { connectionType: 'connection_type', protocol: 'protocol', address: 'address',
  port: 'port', uri: 'uri', manufacturer: 'manufacturer', model: 'model',
  makeAndModel: 'make_and_model', serialNumber: 'serial_number', macAddress: 'mac_address',
  uuid: 'uuid', status: 'status', location: 'location' };
const COLS = Object.values(FIELDS);
const camel = (s) => s.replace(/_([a-z])/g, (_, c) => c.toUpperCase());
const toApi = (row) => Object.fromEntries(Object.entries(row).map(([k, v]) => [camel(k), v]));

// A bearer token is base64url(JSON {companyId, branchId}) "." base64url(HMAC-SHA256),
// checked without the database, as the seed's JWT guard did.
function credential(req, url) {
  const h = req.headers.authorization || '';
  const tok = h.startsWith('Bearer ') ? h.slice(7) : url.searchParams.get('token') || '';
  const [payload, tag] = tok.split('.');
  if (!payload || !tag) return null;
  const want = crypto.createHmac('sha256', SECRET).update(payload).digest();
  const got = Buffer.from(tag, 'base64url');
  if (got.length !== want.length || !crypto.timingSafeEqual(got, want)) return null;
  try { return JSON.parse(Buffer.from(payload, 'base64url').toString()); } catch (e) { return null; }
}

const wss = new WebSocketServer({ noServer: true });
function broadcast(obj) {
  const msg = Buffer.from(JSON.stringify(obj));
  for (const c of wss.clients) if (c.readyState === WebSocket.OPEN) c.send(msg, { binary: false });
}
function event(name, cred, data) {
  broadcast({ type: 'event', event: name, companyId: cred.companyId, branchId: cred.branchId,
    ts: new Date().toISOString(), data });
}

async function upsertOne(cred, p, index) {
  const name = typeof p.name === 'string' ? p.name.trim() : '';
  if (!name) return { index, status: 'failed', error: { code: 'validation_failed' } };
  const vals = COLS.map((c, i) => { const v = p[Object.keys(FIELDS)[i]]; return v === undefined ? null : v; });
  const sources = JSON.stringify(p.sources || []);
  const found = await pool.query(
    'SELECT * FROM printers WHERE branch_id = $1 AND lower(name) = lower($2) LIMIT 1',
    [cred.branchId, name]);
  let row;
  let status;
  if (found.rows.length === 0) {
    const r = await pool.query(`INSERT INTO printers (company_id, branch_id, name, ${COLS.join(', ')},
      sources) VALUES ($1, $2, $3, ${COLS.map((_, i) => `$${i + 4}`).join(', ')}, $${COLS.length + 4})
      RETURNING *`, [cred.companyId, cred.branchId, name, ...vals.map((v, i) =>
      (v === null && COLS[i] === 'status' ? 'online' : v)), sources]);
    row = r.rows[0];
    status = 'new';
  } else {
    const old = found.rows[0];
    const changed = COLS.some((c, i) => vals[i] !== null && String(vals[i]) !== String(old[c]));
    const r = await pool.query(`UPDATE printers SET name = $2, ${COLS.map((c, i) =>
      `${c} = coalesce($${i + 3}, ${c})`).join(', ')}, sources = $${COLS.length + 3},
      last_seen = now(), updated_at = now() WHERE id = $1 RETURNING *`, [old.id, name, ...vals, sources]);
    row = r.rows[0];
    status = changed ? 'updated' : 'unchanged';
  }
  event(status === 'new' ? 'printer:discovered' : 'printer:updated', cred, { printer: toApi(row) });
  return { index, id: row.id, name: row.name, status };
}

async function bulk(req, res, cred, body) {
  if (!Array.isArray(body.printers)) return reply(res, 400, { error: { code: 'bad_request' } });
  if ((body.branchId && body.branchId !== cred.branchId) ||
      (body.companyId && body.companyId !== cred.companyId)) {
    return reply(res, 403, { error: { code: 'forbidden' } });
  }
  const t0 = Date.now();
  const results = [];
  for (let i = 0; i < body.printers.length; i++) results.push(await upsertOne(cred, body.printers[i], i));
  const summary = { total: results.length, success: 0, new: 0, updated: 0, unchanged: 0, failed: 0 };
  for (const r of results) { summary[r.status]++; if (r.status !== 'failed') summary.success++; }
  event('printer:sync:batch-completed', cred, { summary, durationMs: Date.now() - t0 });
  return reply(res, 200, { success: summary.failed === 0, results, summary });
}

async function list(req, res, cred, url) {
  const limit = Math.min(Math.max(Number(url.searchParams.get('limit')) || 100, 1), 500);
  const r = await pool.query('SELECT * FROM printers WHERE company_id = $1 AND branch_id = $2' +
    ' ORDER BY created_at, id LIMIT $3', [cred.companyId, url.searchParams.get('branchId') || cred.branchId, limit]);
  return reply(res, 200, { printers: r.rows.map(toApi), next: null });
}

function reply(res, status, obj) {
  const s = JSON.stringify(obj);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(s) });
  res.end(s);
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let n = 0;
    req.on('data', (c) => { n += c.length; if (n > MAX_BODY) { reject(new Error('too large')); req.destroy(); } else chunks.push(c); });
    req.on('end', () => resolve(Buffer.concat(chunks).toString()));
    req.on('error', reject);
  });
}

const server = http.createServer(async (req, res) => {
  const url = new URL(req.url, 'http://peer');
  try {
    if (url.pathname === '/healthz') return reply(res, 200, { ok: true });
    const cred = credential(req, url);
    if (!cred) return reply(res, 401, { error: { code: 'unauthorized' } });
    if (req.method === 'GET' && url.pathname === '/api/v1/printing/printers') return await list(req, res, cred, url);
    if (req.method === 'POST' && url.pathname === '/api/v1/printing/printers/bulk') {
      let body;
      try { body = JSON.parse(await readBody(req)); } catch (e) { return reply(res, 400, { error: { code: 'malformed_json' } }); }
      return await bulk(req, res, cred, body || {});
    }
    return reply(res, 404, { error: { code: 'not_found' } });
  } catch (e) {
    console.error(`peer: ${req.method} ${url.pathname}: ${e.message}`);
    if (!res.headersSent) reply(res, 500, { error: { code: 'internal' } });
  }
});
server.keepAliveTimeout = 60000;
server.on('upgrade', (req, sock, head) => {
  const url = new URL(req.url, 'http://peer');
  if (url.pathname !== '/ws' || !credential(req, url)) { sock.destroy(); return; }
  wss.handleUpgrade(req, sock, head, (ws) => ws.send(JSON.stringify({ type: 'welcome' })));
});

(async () => {
  await pool.query(SCHEMA);
  server.listen(PORT, '127.0.0.1', () => console.error(`peer: listening on 127.0.0.1:${PORT}`));
})().catch((e) => { console.error(`peer: ${e.message}`); process.exit(1); });

// The bench samples RSS after a collection (started with --expose-gc), so that
// garbage from earlier scenarios does not pass for per-connection memory.
process.on('SIGUSR2', () => { if (global.gc) global.gc(); });

process.on('SIGTERM', () => {
  for (const c of wss.clients) c.terminate();
  server.close();
  server.closeAllConnections();
  pool.end().then(() => process.exit(0));
});
