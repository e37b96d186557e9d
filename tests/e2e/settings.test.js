// settings.test.js: /settings/printing in Debian's chromium against the real
// server and database. Signing in, live printers from the bulk API (as an agent
// posts them), branch and company isolation, admin actions and what a viewer
// may not do, agents and their statistics, sync notices, catching up after a
// server restart, and the screenshots for the docs.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const h = require('../lib/harness');
const { connect } = require('../lib/wskit');
const e = require('./helpers');

let db, s, t, browser;

test.before(async () => {
  db = await h.createDatabase();
  s = await h.startServer({ db });
  t = e.seed(db);
  browser = await e.launch();
});
test.after(async () => {
  if (browser) await browser.close();
  // Exit code 0: a sanitizer report (make check SAN=...) would make it non-zero.
  if (s) assert.deepEqual(await s.stop(), { code: 0, sig: null });
});

// CSP violations show up as console errors naming the policy; an expected 401
// (the page asking /auth/me before sign-in) is the only other console error.
function cspProblems(page) {
  return page.problems.filter((p) => /Content Security Policy|Refused to/i.test(p) || p.startsWith('pageerror'));
}

const rowCount = (page) => page.locator('#printer-rows tr').count();
const badge = (page, name) => e.row(page, name).locator('.badge');

// A signed-in page of `user`, on `branchId` when given, with the gateway live.
async function userPage(user, { branchId, viewport } = {}) {
  const page = await e.openPage(browser, viewport ? { viewport } : {});
  await e.login(page, s, user);
  if (branchId && await page.locator('#branch').inputValue() !== branchId) await page.selectOption('#branch', branchId);
  await e.waitLive(page);
  return page;
}
const adminPage = (branchId = t.downtown, viewport) => userPage(t.admin, { branchId, viewport });

test('sign in; the session survives a reload; log out', async () => {
  const page = await e.openPage(browser);
  await page.goto(s.url + '/');
  assert.equal(new URL(page.url()).pathname, '/settings/printing');
  await page.locator('#login-view').waitFor();
  // A wrong password is a clear, non-blocking message.
  await page.getByLabel('Email').fill(t.admin.email);
  await page.getByLabel('Password').fill('wrong-password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByText('Email or password is incorrect.').waitFor();
  await page.getByLabel('Password').fill(t.admin.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('#app-view').waitFor();
  assert.equal(await page.locator('#who-email').textContent(), t.admin.email);
  assert.equal(await page.locator('#who-role').textContent(), 'Admin');
  // The company-wide admin picks between the company's branches (and only those).
  const options = await page.locator('#branch option').allTextContents();
  assert.deepEqual(options.sort(), ['Airport', 'Downtown']);
  // connect-src 'self' lets the page reach ws://same-origin/ws.
  await e.waitLive(page);
  const cookies = await page.context().cookies();
  const session = cookies.find((c) => c.name === 'pm_session');
  assert.ok(session && session.httpOnly, 'HttpOnly session cookie');
  assert.equal(await page.evaluate(() => document.cookie.includes('pm_session')), false);

  await page.reload();
  await page.locator('#app-view').waitFor();
  assert.equal(await page.locator('#login-view').isHidden(), true);
  await e.waitLive(page);

  // The policy is enforced: an injected inline script does not run, an inline
  // style attribute is refused, and a socket to another origin is blocked,
  // while our own ws: origin above connected.
  const probe = await page.evaluate(async (port) => {
    const seen = [];
    document.addEventListener('securitypolicyviolation', (ev) => seen.push(ev.effectiveDirective));
    const sc = document.createElement('script');
    sc.textContent = 'window.inlineRan = true';
    document.body.append(sc);
    const div = document.createElement('div');
    div.innerHTML = '<p style="color: red">x</p>';
    document.body.append(div);
    try { new WebSocket(`ws://127.0.0.2:${port}/ws`); } catch (err) { seen.push(`threw ${err.name}`); }
    await new Promise((r) => setTimeout(r, 300));
    div.remove();
    return { seen: [...new Set(seen)].sort(), inlineRan: window.inlineRan === true };
  }, s.port);
  assert.equal(probe.inlineRan, false);
  assert.deepEqual(probe.seen, ['connect-src', 'script-src-elem', 'style-src-attr']);
  page.problems.length = 0; // those refusals were the point

  await page.getByRole('button', { name: 'Log out' }).click();
  await page.locator('#login-view').waitFor();
  await page.reload();
  await page.locator('#login-view').waitFor();
  assert.equal(await page.locator('#app-view').isHidden(), true);
  assert.deepEqual(cspProblems(page), []);
  await page.context().close();
});

test('a printer an agent posts appears within a second; status changes live', async () => {
  const page = await adminPage();
  await page.evaluate(() => { window.notReloaded = true; });
  assert.equal(await rowCount(page), 0);

  const printer = { name: 'Front Receipt', address: '10.20.0.31', port: 9100, connectionType: 'network',
    protocol: 'raw', manufacturer: 'EPSON', model: 'TM-T88VI', status: 'online', sources: ['netscan'] };
  await e.postPrinters(s, t.downtownKey, [printer]);
  await e.row(page, 'Front Receipt').waitFor({ timeout: 1000 });
  const r = e.row(page, 'Front Receipt');
  assert.equal(await r.locator('.badge').textContent(), 'Online');
  assert.match(await r.textContent(), /10\.20\.0\.31:9100/);
  assert.match(await r.textContent(), /EPSON TM-T88VI/);
  assert.match(await r.textContent(), /netscan/);
  assert.match(await r.locator('time').textContent(), /^\d+ s ago$/);
  assert.equal(await r.evaluate((tr) => tr.classList.contains('flash')), true);
  // The sync notice for the agent's batch.
  await page.locator('.notice', { hasText: 'Sync from Downtown till: 1 new.' }).waitFor({ timeout: 2000 });

  await e.postPrinters(s, t.downtownKey, [{ ...printer, status: 'error', stateReasons: ['media-empty-error'] }]);
  await page.waitForFunction(() => {
    const b = [...document.querySelectorAll('#printer-rows tr')]
      .find((tr) => tr.textContent.includes('Front Receipt'));
    return b && b.querySelector('.badge').textContent === 'Error';
  }, null, { timeout: 1000 });
  assert.match(await r.textContent(), /media empty/);

  // Lost: the agent reports it offline.
  await e.postPrinters(s, t.downtownKey, [{ ...printer, status: 'offline' }]);
  await page.waitForFunction(() => [...document.querySelectorAll('#printer-rows tr')]
    .some((tr) => tr.textContent.includes('Front Receipt') && tr.querySelector('.badge-offline')),
  null, { timeout: 1000 });

  // Filters: by status and by text.
  await e.postPrinters(s, t.downtownKey, [{ name: 'Kitchen Star', address: '10.20.0.40', port: 9100,
    status: 'online', sources: ['netscan'] }]);
  await e.row(page, 'Kitchen Star').waitFor({ timeout: 1000 });
  // Sorted: online before offline.
  assert.deepEqual(await page.locator('#printer-rows .p-name').allTextContents(), ['Kitchen Star', 'Front Receipt']);
  await page.selectOption('#filter-status', 'offline');
  assert.deepEqual(await page.locator('#printer-rows .p-name').allTextContents(), ['Front Receipt']);
  await page.selectOption('#filter-status', '');
  await page.getByLabel('Search printers').fill('kitchen');
  assert.deepEqual(await page.locator('#printer-rows .p-name').allTextContents(), ['Kitchen Star']);
  await page.getByLabel('Search printers').fill('nothing like this');
  assert.equal(await page.locator('#printers-empty').textContent(), 'No printer matches the filter.');
  await page.getByLabel('Search printers').fill('');

  assert.equal(await page.evaluate(() => window.notReloaded), true);
  assert.deepEqual(cspProblems(page), []);
  await page.context().close();
});

test('users of another branch or company never see the printer', async () => {
  const airport = await userPage(t.airportAdmin);
  // A branch user has its own branch only.
  assert.deepEqual(await airport.locator('#branch option').allTextContents(), ['Airport']);
  assert.equal(await airport.locator('#branch').isDisabled(), true);
  const other = await userPage(t.otherAdmin);
  assert.deepEqual(await other.locator('#branch option').allTextContents(), ['Harbour']);
  for (const p of [airport, other]) {
    await p.locator('#printers-empty', { hasText: 'No printers in this branch yet' }).waitFor();
  }

  // Live: a Downtown printer posted now reaches neither page; an Airport one
  // reaches only the Airport page.
  const seen = await adminPage();
  await e.postPrinters(s, t.downtownKey, [{ name: 'Downtown Secret', address: '10.20.0.77', port: 9100 }]);
  await e.postPrinters(s, t.airportKey, [{ name: 'Airport Label', address: '10.30.0.5', port: 9100 }]);
  await e.row(seen, 'Downtown Secret').waitFor({ timeout: 1000 });
  await e.row(airport, 'Airport Label').waitFor({ timeout: 1000 });
  await airport.waitForTimeout(500);
  assert.equal(await e.row(airport, 'Downtown Secret').count(), 0);
  assert.equal(await rowCount(airport), 1);
  assert.equal(await rowCount(other), 0);
  assert.equal(await e.row(seen, 'Airport Label').count(), 0);
  // ... nor after a reload.
  await airport.reload();
  await e.row(airport, 'Airport Label').waitFor();
  assert.equal(await e.row(airport, 'Downtown Secret').count(), 0);
  for (const p of [airport, other, seen]) {
    assert.deepEqual(cspProblems(p), []);
    await p.context().close();
  }
});

test('a viewer sees printers but no action', async () => {
  const page = await userPage(t.viewer);
  assert.equal(await page.locator('#who-role').textContent(), 'Viewer');
  await e.row(page, 'Front Receipt').waitFor();
  assert.ok(await rowCount(page) >= 2);
  assert.equal(await page.locator('#printer-rows button').count(), 0);
  assert.equal(await page.locator('[data-action]').count(), 0);
  assert.equal(await page.getByRole('button', { name: 'Scan now' }).count(), 0);
  assert.equal(await page.locator('#actions-head').isHidden(), true);
  // Visible buttons are only the viewer's own: log out.
  const visible = await page.locator('button:visible').allTextContents();
  assert.deepEqual(visible.map((x) => x.trim()), ['Log out']);
  // Live updates reach viewers too.
  await e.postPrinters(s, t.downtownKey, [{ name: 'Viewer Sees This', address: '10.20.0.90', port: 9100 }]);
  await e.row(page, 'Viewer Sees This').waitFor({ timeout: 1000 });
  assert.equal(await page.locator('#printer-rows button').count(), 0);
  assert.deepEqual(cspProblems(page), []);
  await page.context().close();
});

test('rename, role and enabled persist after reload; delete asks first', async () => {
  const page = await adminPage();
  const id = db.one("SELECT id FROM printers WHERE name = 'Kitchen Star'").id;
  await e.row(page, 'Kitchen Star').getByRole('button', { name: 'Edit Kitchen Star' }).click();
  const dialog = page.locator('#edit-dialog');
  await dialog.waitFor();
  assert.equal(await page.getByLabel('Display name').inputValue(), '');
  await page.getByLabel('Display name').fill('Hot Line');
  await page.getByLabel('Role').selectOption('kitchen');
  await page.getByRole('button', { name: 'Save' }).click();
  await dialog.waitFor({ state: 'hidden' });
  const r = e.row(page, 'Hot Line');
  await r.waitFor();
  assert.match(await r.textContent(), /Kitchen Star/); // the discovered name stays visible
  assert.equal(await r.locator('.chip-role').textContent(), 'Kitchen');

  await page.reload();
  await e.row(page, 'Hot Line').waitFor();
  assert.equal(await e.row(page, 'Hot Line').locator('.chip-role').textContent(), 'Kitchen');
  assert.deepEqual(db.one(`SELECT display_name, role, enabled FROM printers WHERE id = '${id}'`),
    { display_name: 'Hot Line', role: 'kitchen', enabled: true });

  // A sync never overwrites the user's fields.
  await e.postPrinters(s, t.downtownKey, [{ name: 'Kitchen Star', address: '10.20.0.40', port: 9100, status: 'online' }]);
  await page.waitForTimeout(300);
  assert.equal(await e.row(page, 'Hot Line').count(), 1);

  // Disable, with the keyboard: Enter on Edit, Space on the checkbox, Enter to save.
  await e.row(page, 'Hot Line').getByRole('button', { name: 'Edit Hot Line' }).focus();
  await page.keyboard.press('Enter');
  await dialog.waitFor();
  await page.getByLabel('Enabled (offered for printing)').focus();
  await page.keyboard.press('Space');
  await page.getByRole('button', { name: 'Save' }).click();
  await dialog.waitFor({ state: 'hidden' });
  await e.row(page, 'Hot Line').locator('.chip', { hasText: 'Disabled' }).waitFor();
  await page.reload();
  await e.row(page, 'Hot Line').locator('.chip', { hasText: 'Disabled' }).waitFor();
  assert.equal(db.one(`SELECT enabled FROM printers WHERE id = '${id}'`).enabled, false);

  // Delete: cancel keeps it, confirm removes it.
  const victim = db.one("SELECT id FROM printers WHERE name = 'Viewer Sees This'").id;
  await e.row(page, 'Viewer Sees This').getByRole('button', { name: 'Delete Viewer Sees This' }).click();
  await page.locator('#delete-dialog').waitFor();
  assert.match(await page.locator('#delete-text').textContent(), /Viewer Sees This/);
  await page.getByRole('button', { name: 'Cancel' }).click();
  await page.locator('#delete-dialog').waitFor({ state: 'hidden' });
  assert.equal(db.count('printers', `id = '${victim}'`), 1);
  await e.row(page, 'Viewer Sees This').getByRole('button', { name: 'Delete Viewer Sees This' }).click();
  await page.locator('#delete-dialog').getByRole('button', { name: 'Delete' }).click();
  await e.row(page, 'Viewer Sees This').waitFor({ state: 'detached' });
  assert.equal(db.count('printers', `id = '${victim}'`), 0);
  assert.deepEqual(cspProblems(page), []);
  await page.context().close();
});

test('agents panel, scan, test print as a print job with live status, errors as notices', async () => {
  const page = await adminPage();
  await page.locator('#agents .agent', { hasText: 'Downtown till' }).waitFor();
  const card = page.locator('#agents .agent', { hasText: 'Downtown till' });
  assert.equal(await card.locator('.badge').textContent(), 'Offline');

  // Test print is a real print job: with no agent connected it waits, queued,
  // in the branch's job list.
  await e.postPrinters(s, t.downtownKey, [{ name: 'Front Receipt', address: '10.20.0.31', port: 9100,
    connectionType: 'network', protocol: 'raw', status: 'online' }]);
  await e.row(page, 'Front Receipt').getByRole('button', { name: 'Test print on Front Receipt' }).click();
  await page.locator('.notice', { hasText: 'Test page for Front Receipt queued' }).waitFor();
  const jobItem = page.locator('#jobs .job', { hasText: 'printmaster test print' });
  await jobItem.locator('.badge', { hasText: 'Queued' }).waitFor({ timeout: 2000 });
  assert.match(await jobItem.textContent(), /Front Receipt · text/);
  // No agent connected: a clear 409 notice, nothing blocks.
  await page.getByRole('button', { name: 'Scan now' }).click();
  await page.locator('.notice-error', { hasText: 'Scan now: no agent of this branch is connected' }).waitFor();

  // An agent connects and reports statistics: online, version, stats, live.
  const agent = await connect(s, { token: t.downtownKey });
  try {
    agent.send({ type: 'hello', hostname: 'till-01', version: '1.4.2' });
    await card.locator('.badge', { hasText: 'Online' }).waitFor({ timeout: 2000 });
    assert.match(await card.textContent(), /till-01 · v1\.4\.2/);
    agent.send({ type: 'stats', stats: { queueSize: 3, inFlight: 0, synced: 128, failed: 2, retries: 5,
      batches: 31, lastError: 'HTTP 503 from server', avgResponseMs: 41.6 } });
    await card.locator('.agent-error', { hasText: 'HTTP 503 from server' }).waitFor({ timeout: 2000 });
    const stat = async (label) => card.locator('.stat', { has: page.locator('dt', { hasText: label }) }).locator('dd').textContent();
    assert.equal(await stat('Queue'), '3');
    assert.equal(await stat('Synced'), '128');
    assert.equal(await stat('Failed'), '2');
    assert.equal(await stat('Retries'), '5');
    assert.equal(await stat('Avg'), '42 ms');
    assert.match(await page.locator('#summary').textContent(), /1 of 1 agent connected/);

    // The agent is offered the waiting job, spools it, gets the go-ahead and
    // reports it printed: the page follows live.
    const offer = await agent.next((m) => m.type === 'job', { timeout: 5000 });
    assert.equal(offer.job.printer.name, 'Front Receipt');
    assert.match(Buffer.from(offer.job.content, 'base64').toString(), /^printmaster test print\n/);
    await jobItem.locator('.badge', { hasText: 'Sent' }).waitFor({ timeout: 2000 });
    agent.send({ type: 'job-result', id: offer.job.id, state: 'accepted' });
    const ack = await agent.next((m) => m.type === 'job-ack');
    assert.equal(ack.print, true);
    agent.send({ type: 'job-result', id: offer.job.id, state: 'printed' });
    await jobItem.locator('.badge', { hasText: 'Printed' }).waitFor({ timeout: 2000 });
    await page.getByRole('button', { name: 'Scan now' }).click();
    await agent.next((m) => m.type === 'command' && m.command === 'scan');
    await page.locator('.notice', { hasText: 'Scan requested from 1 agent' }).waitFor();
  } finally {
    await agent.close();
  }
  await card.locator('.badge', { hasText: 'Offline' }).waitFor({ timeout: 3000 });

  // A batch with a rejected item: a failure notice naming it.
  const bad = await h.api(s, 'POST', '/api/v1/printing/printers/bulk', {
    headers: { Authorization: `Bearer ${t.downtownKey}` },
    body: { printers: [{ name: 'Fine One', address: '10.20.0.60', port: 9100 }, { name: 'Broken', status: 'sideways' }] },
  });
  assert.equal(bad.status, 200);
  assert.equal(bad.json.summary.failed, 1);
  await page.locator('.notice-error', { hasText: 'Sync from Downtown till failed for 1 printer: Broken' }).waitFor();
  await e.row(page, 'Fine One').waitFor({ timeout: 1000 });
  // Notices are announced politely, never as a modal.
  assert.equal(await page.locator('#notices').getAttribute('aria-live'), 'polite');
  assert.deepEqual(cspProblems(page), []);
  await page.context().close();
});

test('a session revoked while the page is open leads back to sign-in', async () => {
  const user = e.createUser(db, { companyId: t.companyId, email: `temp-${Date.now()}@acme.test`, role: 'admin' });
  const page = await userPage(user, { branchId: t.downtown });
  await e.row(page, 'Front Receipt').waitFor();
  e.admin(db, ['user', 'revoke', user.id]);
  // The server closes the page's socket with 4401 at once; the page asks
  // /auth/me and goes back to sign-in by itself, before anyone clicks.
  await page.locator('#login-view').waitFor({ timeout: 5000 });
  assert.equal(await page.locator('#login-error').textContent(), 'Your session has ended. Please sign in again.');
  assert.equal(await page.locator('#edit-dialog').isHidden(), true);
  assert.equal(await page.locator('#conn').isHidden(), true);
  // Nothing was changed by the refused request.
  assert.equal(db.one("SELECT display_name FROM printers WHERE name = 'Front Receipt'").display_name, null);
  assert.deepEqual(cspProblems(page), []);
  await page.context().close();
});

test('a large batch sends refresh-required and the page reloads its list', async () => {
  const branch = e.admin(db, ['branch', 'create', '--company', t.companyId, 'Warehouse']);
  const key = e.admin(db, ['agent', 'create', '--branch', branch, 'Warehouse PC']);
  const page = await adminPage(branch);
  await page.locator('#printers-empty', { hasText: 'No printers in this branch yet' }).waitFor();
  const many = Array.from({ length: 60 }, (_, i) => ({ name: `Shelf label ${i + 1}`,
    address: `10.40.0.${i + 1}`, port: 9100, status: 'online', sources: ['netscan'] }));
  await e.postPrinters(s, key, many);
  await page.waitForFunction(() => document.querySelectorAll('#printer-rows tr').length === 60, null,
    { timeout: 3000 });
  // Natural order by name: "Shelf label 2" before "Shelf label 10".
  const names = await page.locator('#printer-rows .p-name').allTextContents();
  assert.deepEqual(names.slice(0, 3), ['Shelf label 1', 'Shelf label 2', 'Shelf label 3']);
  const ev = db.query(`SELECT type FROM printer_events WHERE branch_id = '${branch}' ORDER BY id`).map((x) => x.type);
  assert.deepEqual(ev, ['printer:refresh-required', 'printer:sync:success', 'printer:sync:batch-completed']);
  assert.deepEqual(cspProblems(page), []);
  await page.context().close();
});

// A branch of its own with a realistic set-up, so the pictures show the page
// as a shop would see it (they end up in the docs).
test('screenshots: desktop and phone', async () => {
  const branch = e.admin(db, ['branch', 'create', '--company', t.companyId, 'Main Street']);
  const tillKey = e.admin(db, ['agent', 'create', '--branch', branch, 'Main Street till']);
  const officeKey = e.admin(db, ['agent', 'create', '--branch', branch, 'Back office PC']);
  const res = await e.postPrinters(s, tillKey, [
    { name: 'EPSON TM-m30III', address: '192.168.20.31', port: 9100, connectionType: 'network', protocol: 'raw',
      manufacturer: 'EPSON', model: 'TM-m30III', status: 'online', sources: ['netscan', 'dnssd'] },
    { name: 'Star_TSP143IIIU', address: '192.168.20.40', port: 631, connectionType: 'network', protocol: 'ipp',
      makeAndModel: 'Star TSP143IIIU', status: 'online', sources: ['ipp', 'dnssd'],
      uuid: 'urn:uuid:2f1c3a70-1d2b-4c3d-8e4f-5a6b7c8d9e01' },
    { name: 'EPSON TM-T20III', address: '192.168.20.33', port: 9100, connectionType: 'network', protocol: 'raw',
      manufacturer: 'EPSON', model: 'TM-T20III', status: 'error', stateReasons: ['media-empty-error'],
      sources: ['netscan'] },
    { name: 'Zebra ZD421', connectionType: 'usb', protocol: 'usb', manufacturer: 'Zebra', model: 'ZD421',
      serialNumber: 'D4J201100123', status: 'online', sources: ['usb'] },
    { name: 'Office_HP', connectionType: 'cups', protocol: 'cups', uri: 'ipp://192.168.20.5/ipp/print',
      makeAndModel: 'HP LaserJet Pro M404', status: 'offline', sources: ['cups'] },
  ]);
  const login = await h.api(s, 'POST', '/api/v1/auth/login', { body: { email: t.admin.email, password: t.admin.password } });
  assert.equal(login.status, 200);
  const names = [['Front counter', 'receipt'], ['Kitchen', 'kitchen'], ['Bar', 'bar'], ['Labels', 'label'], [null, 'other']];
  for (const [i, [displayName, role]] of names.entries()) {
    const r = await h.api(s, 'PATCH', `/api/v1/printing/printers/${res.results[i].id}`,
      { headers: { Authorization: `Bearer ${login.json.token}` }, body: { displayName, role } });
    assert.equal(r.status, 200, r.text);
  }
  // The back office agent reported trouble and went away; the till is online.
  const office = await connect(s, { token: officeKey });
  office.send({ type: 'hello', hostname: 'office-pc', version: '1.4.1' });
  office.send({ type: 'stats', stats: { queueSize: 2, inFlight: 0, synced: 57, failed: 1, retries: 6,
    batches: 14, lastError: 'connect to server: timed out after 10 s', avgResponseMs: 120 } });
  await office.close();
  const till = await connect(s, { token: tillKey });
  try {
    till.send({ type: 'hello', hostname: 'till-01', version: '1.4.2' });
    till.send({ type: 'stats', stats: { queueSize: 0, inFlight: 0, synced: 131, failed: 0, retries: 1,
      batches: 33, avgResponseMs: 38 } });
    await h.waitFor(async () => {
      const r = await h.api(s, 'GET', '/api/v1/printing/agents', { headers: { Authorization: `Bearer ${login.json.token}` } });
      const a = r.json.agents.filter((x) => x.branchId === branch);
      return a.length === 2 && a.some((x) => x.online && x.stats.synced === 131) &&
        a.some((x) => !x.online && x.stats.lastError);
    }, { what: 'agents reported' });

    const shots = [];
    for (const [name, viewport] of [['desktop', { width: 1280, height: 800 }], ['phone', { width: 390, height: 844 }]]) {
      const page = await adminPage(branch, viewport);
      await page.locator('#agents .badge-online').waitFor({ timeout: 2000 });
      await e.row(page, 'Front counter').waitFor();
      assert.equal(await rowCount(page), 5);
      // Problems first: error, then online by name, unknown, offline.
      assert.deepEqual(await page.locator('#printer-rows .p-name').allTextContents(),
        ['Bar', 'Front counter', 'Kitchen', 'Labels', 'Office_HP']);
      if (name === 'phone') {
        // Cards, not a table wider than the screen.
        assert.ok(await page.evaluate(() => document.documentElement.scrollWidth) <= 390);
        assert.ok(await page.locator('#printers thead').evaluate((x) => x.getBoundingClientRect().height) <= 1);
      }
      await e.screenshot(page, `${name}.png`);
      await page.screenshot({ path: `${e.SCREENSHOTS}/${name}-full.png`, fullPage: true });
      assert.ok(require('node:fs').statSync(`${e.SCREENSHOTS}/${name}.png`).size > 20000);
      assert.deepEqual(cspProblems(page), []);
      shots.push(page);
    }
    for (const page of shots) await page.context().close();
  } finally {
    await till.close();
  }
});

// Last: it replaces the server. The page stays open while the server stops;
// events written meanwhile (by a second instance on another port, same
// database) reach it after it reconnects to a new server on the same port,
// through `since`, without a reload.
test('after a server restart the page reconnects and shows what it missed', async () => {
  const page = await adminPage();
  const frames = [];
  page.on('websocket', (ws) => ws.on('framesent', (f) => frames.push(String(f.payload))));
  await page.evaluate(() => { window.notReloaded = true; });
  await e.row(page, 'Front Receipt').waitFor();
  const lastBefore = Number(db.one('SELECT max(id) AS m FROM printer_events').m);

  // Same port, database and data_dir (its session signing key), as a real
  // restart or a second instance of the deployment has.
  const port = s.port;
  const env = { PRINTMASTER_DATA_DIR: s.dataDir };
  assert.equal((await s.stop()).code, 0);
  await page.locator('#conn[data-state="reconnecting"]').waitFor({ timeout: 5000 });
  assert.equal(await page.locator('#conn-text').textContent(), 'Reconnecting…');

  const other = await h.startServer({ db, env });
  try {
    await e.postPrinters(other, t.downtownKey, [
      { name: 'Missed While Away', address: '10.20.0.99', port: 9100, status: 'online' },
      { name: 'Front Receipt', address: '10.20.0.31', port: 9100, status: 'online' },
    ]);
  } finally {
    assert.equal((await other.stop()).code, 0);
  }
  s = await h.startServer({ db, port, env });

  await e.row(page, 'Missed While Away').waitFor({ timeout: 20000 });
  await e.waitLive(page);
  await page.waitForFunction(() => [...document.querySelectorAll('#printer-rows tr')]
    .some((tr) => tr.textContent.includes('Front Receipt') && tr.querySelector('.badge-online')), null,
  { timeout: 2000 });
  assert.equal(await page.evaluate(() => window.notReloaded), true);
  // It caught up through the gateway's replay: the new connection asked for
  // everything after the last event it had seen.
  const subs = frames.map((f) => JSON.parse(f)).filter((m) => m.type === 'subscribe');
  assert.ok(subs.length >= 1, 'subscribed again after reconnecting');
  assert.equal(subs[subs.length - 1].since, lastBefore);
  assert.deepEqual(subs[subs.length - 1].rooms, [`branch:${t.downtown}`]);
  assert.deepEqual(cspProblems(page), []);
  await page.context().close();
});
