// jobs_ipp.test.js: print jobs to an IPP printer (ippeveprinter, which keeps
// every document it receives with -k): a pdf and a text job arrive as IPP jobs
// with their document formats and bytes, and end printed.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawn } = require('node:child_process');
const h = require('../lib/harness');
const k = require('../lib/authkit');
const sim = require('./sync_helpers');

const IPPEVE = '/usr/sbin/ippeveprinter';
let db, server;

test.before(async () => {
  db = await h.createDatabase();
  server = await h.startServer({ db });
});
test.after(async () => { await server.stop(); });

const PDF = '%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n' +
  '2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n' +
  '3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]>>endobj\n' +
  'trailer<</Root 1 0 R>>\n%%EOF\n';

test('pdf and text jobs reach ippeveprinter as IPP jobs and end printed',
  { skip: !fs.existsSync(IPPEVE) && 'ippeveprinter not installed' }, async () => {
    const t = await k.tenant(db, server, { company: 'Jobs IPP' });
    const pmi = k.adminOk(db, ['apikey', 'create', '--company', t.companyId, 'POS']);
    const ippPort = await h.freePort();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pmtest-ippjobs-'));
    const eve = spawn(IPPEVE, ['-p', String(ippPort), '-r', 'off', '-n', 'localhost', '-d', dir, '-k',
      '-f', 'application/pdf,text/plain', 'PM Jobs IPP'], { stdio: 'ignore' });
    const uri = `ipp://127.0.0.1:${ippPort}/ipp/print`;
    const a = sim.startAgent({ url: server.url, key: t.agentKeys[0], cidr: '127.0.0.1/32', port: 1,
      spool: sim.tmpSpool(), extra: { PRINTMASTER_SOURCES: 'ipp', PRINTMASTER_IPP_URIS: uri,
        PRINTMASTER_SCAN_INTERVAL: '1' } });
    try {
      const p = await h.waitFor(() => {
        const r = db.query(`SELECT id, protocol FROM printers WHERE branch_id = '${t.branchId}'
          AND sources ? 'agents' AND sources->'agents' <> '{}'::jsonb`);
        return r.length === 1 && /websocket connected/.test(a.log()) && r[0];
      }, { what: 'IPP printer synced', timeout: 20000 });
      assert.equal(p.protocol, 'ipp');
      // ippeveprinter names a kept document <job id>-<job name>.<ext>: pdf for
      // application/pdf, dat for other formats such as text/plain.
      const files = () => fs.readdirSync(dir, { recursive: true }).map(String);
      const send = async (body) => {
        const r = await h.api(server, 'POST', `/api/v1/printing/printers/${p.id}/jobs`,
          { headers: k.bearer(pmi), body });
        assert.equal(r.status, 202, r.text);
        const done = await h.waitFor(() => {
          const j = db.one(`SELECT state, reason FROM print_jobs WHERE id = '${r.json.id}'`);
          return j.state !== 'queued' && j.state !== 'sent' && j;
        }, { what: 'job finished', timeout: 20000 });
        assert.equal(done.state, 'printed', done.reason);
        return r.json.id;
      };
      await send({ title: 'Invoice 42', contentType: 'pdf', content: Buffer.from(PDF).toString('base64') });
      const pdf = await h.waitFor(() => files().find((n) => /invoice_42\.pdf$/i.test(n)),
        { what: `the pdf in the spool directory: ${fs.readdirSync(dir, { recursive: true })}` });
      assert.equal(fs.readFileSync(path.join(dir, pdf), 'latin1'), PDF);
      await send({ title: 'Kitchen ticket', contentType: 'text', content: Buffer.from('2x soup\n1x bread\n').toString('base64') });
      const txt = await h.waitFor(() => files().find((n) => /kitchen_ticket\.dat$/i.test(n)),
        { what: `the text in the spool directory: ${fs.readdirSync(dir, { recursive: true })}` });
      assert.equal(fs.readFileSync(path.join(dir, txt), 'utf8'), '2x soup\n1x bread\n');
    } finally {
      assert.equal((await a.stop()).code, 0);
      eve.kill('SIGTERM');
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
