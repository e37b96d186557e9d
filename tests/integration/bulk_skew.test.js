// bulk_skew.test.js: a small batch's candidate lookup costs what the batch
// asks for, in a big branch among many small ones (issue 10: size does not
// matter). The server's statements are prepared once and run generic plans,
// made for an average branch: written as `uuid = ANY($4)` (and the same for the
// other identity kinds), such a plan read the big branch's whole index range
// and filtered it. The test counts the index entries PostgreSQL read for one
// 5-printer batch (pg_stat_user_indexes), not time: the probes read about one
// entry per value, the filter read thousands.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const h = require('../lib/harness');
const ak = require('../lib/authkit');
const { indexEntriesRead } = require('../lib/pgstats');

const BIG = 2000;
const SMALL = 3000;
const IDENTITY_INDEXES = ['printers_company_id_branch_id_device_key_key',
  'printers_branch_uuid_idx', 'printers_branch_serial_idx', 'printers_branch_mac_idx',
  'printers_branch_addr_key_idx', 'printers_branch_name_key_idx'];

let db, s, T;

test.before(async () => {
  db = await h.createDatabase();
  s = await h.startServer({ db, env: { PRINTMASTER_LOG_LEVEL: 'warn' } });
  T = await ak.tenant(db, s, { company: 'Skewed Chain', branches: ['Warehouse'] });
});
test.after(async () => { await s.stop(); });

const hex = (i, w) => i.toString(16).padStart(w, '0');
// An IPP printer with every identity: uuid, serial, MAC, address and name.
const printer = (i) => ({
  name: `Label ${i}`, address: `10.20.${i >> 8}.${i & 255}`, port: 631,
  connectionType: 'network', protocol: 'ipp', status: 'online',
  uuid: `urn:uuid:00000000-0000-4000-8000-${hex(i, 12)}`, serialNumber: `SN${hex(i, 8)}`,
  macAddress: `02:00:00:${hex(i >> 16, 2)}:${hex((i >> 8) & 255, 2)}:${hex(i & 255, 2)}`,
  sources: ['ipp'],
});

const bulk = (list) => h.api(s, 'POST', '/api/v1/printing/printers/bulk',
  { headers: T.agent(0), body: { printers: list } });

test('a 5-printer batch into a big branch among many small ones reads entries per value, not per printer of the branch', async () => {
  for (let from = 0; from < BIG; from += 1000) {
    const r = await bulk(Array.from({ length: Math.min(1000, BIG - from) }, (_, i) => printer(from + i)));
    assert.equal(r.status, 200, r.text.slice(0, 300));
    assert.equal(r.json.summary.new, Math.min(1000, BIG - from));
  }
  // Many small branches of one printer each, as a chain of shops has: the
  // average branch the planner sees holds about one printer.
  db.exec(`
    INSERT INTO branches (id, company_id, name)
      SELECT ('00000000-0000-4000-9000-' || lpad(to_hex(g), 12, '0'))::uuid, '${T.companyId}', 'Shop ' || g
      FROM generate_series(1, ${SMALL}) g;
    INSERT INTO printers (company_id, branch_id, device_key, name, name_key, addr_key, uuid,
        serial_number, mac_address, status)
      SELECT '${T.companyId}', ('00000000-0000-4000-9000-' || lpad(to_hex(g), 12, '0'))::uuid,
        'uuid:shop-' || g, 'Till ' || g, 'till ' || g, '10.99.0.1', 'urn:uuid:shop-' || g,
        'SHOP' || g, '06:00:00:00:00:01', 'online'
      FROM generate_series(1, ${SMALL}) g;
    ANALYZE printers;`);
  // Warm up: every connection of the server prepares its statements again
  // after ANALYZE (which invalidates their plans).
  for (let i = 0; i < 12; i++) {
    const r = await bulk([printer(i), printer(i + 100), printer(i + 200), printer(i + 300), printer(i + 400)]);
    assert.equal(r.status, 200);
  }
  const before = await indexEntriesRead(db, 'printers');
  const r = await bulk([printer(7), printer(777), printer(1234), printer(1500), printer(BIG - 1)]);
  assert.equal(r.status, 200);
  assert.equal(r.json.summary.unchanged + r.json.summary.updated, 5, JSON.stringify(r.json.summary));
  const after = await indexEntriesRead(db, 'printers');
  for (const ix of IDENTITY_INDEXES) {
    assert.ok(ix in after, `index ${ix} exists`);
    const d = after[ix] - (before[ix] || 0);
    assert.ok(d <= 200, `${ix}: ${d} entries read for 5 printers in a branch of ${BIG}`);
  }
});
