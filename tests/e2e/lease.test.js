// lease.test.js: the page when a branch goes dark (agent_offline_after = 3).
// Two real agents, one printer seen by both and one by the first only; the
// first killed with SIGKILL: its printer shows "Unknown · agent offline" with
// since when, sorted with the problems, a branch banner names the agent, the
// shared printer stays Online; restarted, all Online and the banner gone.
// Heartbeats that change nothing raise no notice.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const h = require('../lib/harness');
const sim = require('../integration/sync_helpers');
const e = require('./helpers');
const { connect } = require('../lib/wskit');

const OFFLINE_AFTER = 3;

test('an agent goes dark: its printer Unknown · agent offline and a banner; back: Online', async () => {
  const db = await h.createDatabase();
  const s = await h.startServer({ db, env: { PRINTMASTER_AGENT_OFFLINE_AFTER: String(OFFLINE_AFTER) } });
  const t = e.seed(db);
  const keyB = e.admin(db, ['agent', 'create', '--branch', t.downtown, 'Back office']);
  const net = sim.subnet();
  const port = await h.freePort();
  const shared = await sim.printer(`${net.base}.1`, port);
  const own = await sim.printer(`${net.base}.2`, port);
  const heartbeat = { PRINTMASTER_HEARTBEAT_INTERVAL: '5' };
  const optsA = { url: s.url, key: t.downtownKey, cidr: `${shared.host}/32,${own.host}/32`, port,
    spool: sim.tmpSpool(), extra: heartbeat };
  const optsB = { url: s.url, key: keyB, cidr: `${shared.host}/32`, port, spool: sim.tmpSpool(), extra: heartbeat };
  const browser = await e.launch();
  let a = null;
  let b = null;
  try {
    const page = await e.openPage(browser);
    await e.login(page, s, t.admin);
    if (await page.locator('#branch').inputValue() !== t.downtown) await page.selectOption('#branch', t.downtown);
    await e.waitLive(page);
    // Every notice the page shows, kept (they go away by themselves).
    const watchNotices = () => page.evaluate(() => {
      window.noticesSeen = [];
      new MutationObserver((recs) => {
        for (const r of recs) for (const n of r.addedNodes) if (n.textContent) window.noticesSeen.push(n.textContent);
      }).observe(document.getElementById('notices'), { childList: true });
    });
    await watchNotices();
    a = sim.startAgent(optsA);
    b = sim.startAgent(optsB);
    const ownName = `${own.host}`;
    const sharedName = `${shared.host}`;
    const badge = (name) => page.locator('#printer-rows tr', { has: page.locator('.p-name', { hasText: name }) })
      .locator('.badge');
    await page.waitForFunction(() => document.querySelectorAll('#printer-rows .badge-online').length === 2,
      null, { timeout: 15000 });
    await h.waitFor(() => db.count('agents', 'hostname IS NOT NULL') === 2, { what: 'both agents connected' });
    assert.equal(await page.locator('#branch-banner').isVisible(), false);

    // Heartbeats that change nothing: batches arrive, no notice appears.
    const hb = () => db.count('sync_batches', `branch_id = '${t.downtown}' AND total > 0 AND unchanged_count = total`);
    const hb0 = hb();
    await h.waitFor(() => hb() >= hb0 + 2, { timeout: 15000, what: 'two heartbeat batches' });
    await new Promise((r) => setTimeout(r, 500));
    const seen = await page.evaluate(() => window.noticesSeen);
    assert.ok(seen.every((n) => !/no changes|checked/.test(n)), JSON.stringify(seen));
    assert.ok(seen.some((n) => /new/.test(n)), 'the first sync did raise a notice');

    // SIGKILL: within agent_offline_after + 5 s the page tells the truth.
    const t0 = Date.now();
    await a.stop('SIGKILL');
    await page.waitForFunction((n) => [...document.querySelectorAll('#printer-rows tr')]
      .some((tr) => tr.querySelector('.p-name').textContent.includes(n) &&
        tr.querySelector('.badge').textContent === 'Unknown · agent offline'), ownName,
    { timeout: (OFFLINE_AFTER + 5) * 1000 });
    assert.ok(Date.now() - t0 < (OFFLINE_AFTER + 5) * 1000);
    assert.equal(await badge(sharedName).textContent(), 'Online');
    // Sorted with the problems: first.
    assert.match((await page.locator('#printer-rows .p-name').allTextContents())[0], new RegExp(own.host.replace(/\./g, '\\.')));
    const ownRow = page.locator('#printer-rows tr', { has: page.locator('.p-name', { hasText: ownName }) });
    assert.match(await ownRow.locator('.since').textContent(), /^since \d+ s ago$/);
    const banner = page.locator('#branch-banner');
    await banner.waitFor({ state: 'visible' });
    assert.match(await banner.textContent(), /Agent Downtown till is offline since \d+ s ago\. 1 printer only it sees shows “Unknown · agent offline”/);
    await e.screenshot(page, 'agent-offline.png');
    // A reload shows the same (offlineSince from the API).
    await page.reload();
    await e.waitLive(page);
    await banner.waitFor({ state: 'visible' });
    assert.equal(await badge(ownName).textContent(), 'Unknown · agent offline');
    await watchNotices();

    // Back: Online again, the banner goes.
    a = sim.startAgent(optsA);
    await page.waitForFunction(() => document.querySelectorAll('#printer-rows .badge-online').length === 2,
      null, { timeout: 15000 });
    await banner.waitFor({ state: 'hidden', timeout: 10000 });
    assert.equal(await page.locator('.badge-dark').count(), 0);
    assert.ok((await page.evaluate(() => window.noticesSeen)).every((n) => !/no changes/.test(n)));
    assert.deepEqual(page.problems.filter((p) => p.startsWith('pageerror')), []);
    await page.context().close();
  } finally {
    for (const x of [a, b]) if (x) await x.stop();
    await shared.close();
    await own.close();
    await browser.close();
    assert.deepEqual(await s.stop(), { code: 0, sig: null });
  }
});

test('the agent card shows the window statistics; a low success rate raises the alert banner, ' +
     'recovery clears it', async () => {
  const db = await h.createDatabase();
  const s = await h.startServer({ db, env: { PRINTMASTER_ALERT_MIN_ITEMS: '5', PRINTMASTER_ALERT_INTERVAL: '1' } });
  const t = e.seed(db);
  const browser = await e.launch();
  const agent = await connect(s, { token: t.downtownKey });
  try {
    const page = await e.openPage(browser);
    await e.login(page, s, t.admin);
    if (await page.locator('#branch').inputValue() !== t.downtown) await page.selectOption('#branch', t.downtown);
    await e.waitLive(page);
    agent.send({ type: 'hello', hostname: 'till-02', version: '2.0.0' });
    agent.send({ type: 'stats', stats: { queueSize: 4, inFlight: 2, synced: 40, failed: 3, retries: 2, batches: 9,
      avgResponseMs: 21.2, p95ResponseMs: 48.6, processingRate: 12.5, successRate: 75, succeededRecent: 6,
      failedRecent: 2, activeBatches: 1 } });
    const card = page.locator('.agent', { hasText: 'Downtown till' });
    await card.locator('.stat', { hasText: 'Rate' }).waitFor({ timeout: 3000 });
    const stat = async (label) => card.locator('.stat', { has: page.locator('dt', { hasText: label }) }).locator('dd').textContent();
    await page.waitForFunction(() => document.querySelector('.agent dl') &&
      document.querySelector('.agent dl').textContent.includes('12.5/min'), null, { timeout: 3000 });
    assert.equal(await stat('Rate'), '12.5/min');
    assert.equal(await stat('Success'), '75%');
    assert.equal(await stat('Last 5 min'), '6 ok · 2 not');
    assert.equal(await stat('Active'), '1');
    assert.equal(await stat('p95'), '49 ms');
    assert.equal(await stat('Queue'), '4');

    const banner = page.locator('#alert-banner');
    assert.equal(await banner.isVisible(), false);
    const good = (i) => ({ name: `Till ${i}`, address: `10.8.0.${i}`, port: 9100, connectionType: 'network',
      protocol: 'raw', status: 'online' });
    const post = (printers) => h.api(s, 'POST', '/api/v1/printing/printers/bulk', {
      headers: { Authorization: `Bearer ${t.downtownKey}` }, body: { printers, duplicateHandling: 'update' } });
    assert.equal((await post([good(1), good(2), { address: 'x' }, { address: 'y' }, { address: 'z' }])).status, 200);
    await banner.waitFor({ state: 'visible', timeout: 5000 });
    assert.match(await banner.textContent(), /Sync alert: only 40% of the printers sent in the last 15 minutes were accepted \(the alert is under 90%\)/);
    // A reload shows it too (from GET /sync/stats).
    await page.reload();
    await e.waitLive(page);
    await banner.waitFor({ state: 'visible' });
    assert.match(await banner.textContent(), /only 40% of the printers/);
    assert.equal((await post(Array.from({ length: 40 }, (_, i) => good(10 + i)))).status, 200);
    await banner.waitFor({ state: 'hidden', timeout: 5000 });
    assert.deepEqual(page.problems.filter((p) => p.startsWith('pageerror')), []);
    await page.context().close();
  } finally {
    await agent.close();
    await browser.close();
    assert.deepEqual(await s.stop(), { code: 0, sig: null });
  }
});
