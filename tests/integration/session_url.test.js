// session_url.test.js: session_database_url carries the connections whose
// session state matters (the listener's LISTEN, which also wakes the job
// dispatcher; the sweeper's lock), database_url the requests: with the former
// pointing nowhere, requests still work and no event reaches a client;
// pointing at the database (in another form), events flow.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const h = require('../lib/harness');
const k = require('../lib/authkit');
const w = require('../lib/wskit');

const printers = (tag) => ({ printers: [{ name: `Session ${tag}`, address: `10.88.0.${tag}`, port: 9100,
  connectionType: 'network', protocol: 'raw', status: 'online', sources: ['netscan'] }] });

async function run(db, sessionUrl) {
  const server = await h.startServer({ db, env: { PRINTMASTER_SESSION_DATABASE_URL: sessionUrl } });
  try {
    const T = await w.tenants(db, server);
    const c = await w.connect(server, { token: T.tok.adminA });
    const r = await h.api(server, 'POST', '/api/v1/printing/printers/bulk',
      { headers: k.bearer(T.agentKey), body: printers(Math.floor(Math.random() * 200)) });
    assert.equal(r.status, 200, 'requests use database_url');
    const got = await c.next((m) => m.type === 'event' && m.event === 'printer:discovered',
      { timeout: 3000 }).then(() => true, () => false);
    await c.close();
    return { got, log: server.log() };
  } finally {
    await server.stop();
  }
}

test('LISTEN goes over session_database_url, requests over database_url', async () => {
  const db = await h.createDatabase();
  const c = db.cluster;
  const ok = await run(db, `host=${c.host} port=${c.port} user=postgres dbname=${db.name}`);
  assert.equal(ok.got, true, 'events flow through a listener on the session URL');

  const db2 = await h.createDatabase();
  const bad = await run(db2, `host=/nonexistent-${process.pid} port=${c.port} user=postgres dbname=${db2.name} connect_timeout=1`);
  assert.equal(bad.got, false, 'no listener: no event');
  assert.match(bad.log, /connect failed/);
});
