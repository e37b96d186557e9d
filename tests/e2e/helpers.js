// helpers.js: what the browser tests share. Tenants and credentials made with
// the real admin CLI, printers posted through the bulk API with an agent key
// (as an agent does), and Debian's chromium driven by playwright-core with a
// fresh profile. Everything started here is stopped by the test that made it.
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const crypto = require('node:crypto');
const { execFileSync } = require('node:child_process');
const assert = require('node:assert/strict');
const { chromium } = require('playwright-core');
const h = require('../lib/harness');

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--no-sandbox', '--headless', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic',
  '--disable-dev-shm-usage'];
const SCREENSHOTS = path.join(h.BUILD, 'screenshots');

// `printmaster-server admin ...` against db; returns stdout's first line.
function admin(db, args, input) {
  const out = execFileSync(path.join(h.BIN, 'printmaster-server'), ['admin', ...args], {
    env: { ...process.env, DATABASE_URL: db.url, PRINTMASTER_LOG_LEVEL: 'warn' },
    input: input === undefined ? '' : input + '\n',
    encoding: 'utf8',
    stdio: ['pipe', 'pipe', 'pipe'],
    timeout: 20000,
  });
  return out.trim().split('\n')[0];
}

const password = () => 'pw-' + crypto.randomBytes(9).toString('base64url');

function createUser(db, { companyId, branchId, email, role }) {
  const pw = password();
  const args = ['user', 'create', '--company', companyId, '--email', email, '--role', role];
  if (branchId) args.splice(4, 0, '--branch', branchId);
  const id = admin(db, args, pw);
  return { id, email, password: pw, role, branchId: branchId || null };
}

// Two companies' worth of people: Acme with branches Downtown and Airport (a
// company-wide admin, a Downtown viewer, an Airport admin, an agent key per
// branch) and Other Co (an admin and an agent), so scoping can be checked.
function seed(db) {
  db.exec('SELECT 1'); // the server migrated already; fail early if not
  const suffix = crypto.randomBytes(4).toString('hex');
  const companyId = admin(db, ['company', 'create', 'Acme Restaurants']);
  const downtown = admin(db, ['branch', 'create', '--company', companyId, 'Downtown']);
  const airport = admin(db, ['branch', 'create', '--company', companyId, 'Airport']);
  const otherCo = admin(db, ['company', 'create', 'Other Co']);
  const otherBranch = admin(db, ['branch', 'create', '--company', otherCo, 'Harbour']);
  return {
    companyId, downtown, airport, otherCo, otherBranch,
    admin: createUser(db, { companyId, email: `owner-${suffix}@acme.test`, role: 'admin' }),
    viewer: createUser(db, { companyId, branchId: downtown, email: `staff-${suffix}@acme.test`, role: 'viewer' }),
    airportAdmin: createUser(db, { companyId, branchId: airport, email: `airport-${suffix}@acme.test`, role: 'admin' }),
    otherAdmin: createUser(db, { companyId: otherCo, email: `boss-${suffix}@other.test`, role: 'admin' }),
    downtownKey: admin(db, ['agent', 'create', '--branch', downtown, 'Downtown till']),
    airportKey: admin(db, ['agent', 'create', '--branch', airport, 'Airport office']),
    otherKey: admin(db, ['agent', 'create', '--branch', otherBranch, 'Harbour PC']),
  };
}

// POST printers as an agent does: its key, an Idempotency-Key, update mode.
async function postPrinters(server, key, printers, mode = 'update') {
  const r = await h.api(server, 'POST', '/api/v1/printing/printers/bulk', {
    body: { printers, duplicateHandling: mode },
    headers: { Authorization: `Bearer ${key}`, 'Idempotency-Key': crypto.randomUUID() },
  });
  assert.equal(r.status, 200, `bulk answered ${r.status}: ${r.text}`);
  assert.equal(r.json.summary.failed, 0, r.text);
  return r.json;
}

async function launch() {
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, timeout: 30000 });
}

// A fresh context (its own cookies) and page that records console errors,
// page errors and CSP violations, so a test can assert there were none.
async function openPage(browser, { viewport = { width: 1280, height: 800 } } = {}) {
  const context = await browser.newContext({ viewport, reducedMotion: 'reduce' });
  const page = await context.newPage();
  page.problems = [];
  page.on('console', (m) => { if (m.type() === 'error') page.problems.push(`console: ${m.text()}`); });
  page.on('pageerror', (e) => page.problems.push(`pageerror: ${e.message}`));
  page.setDefaultTimeout(10000);
  return page;
}

async function login(page, server, user) {
  await page.goto(server.url + '/settings/printing');
  await page.getByLabel('Email').fill(user.email);
  await page.getByLabel('Password').fill(user.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('#app-view').waitFor({ state: 'visible' });
}

// The row of the printer called `name` (display or discovered name).
const row = (page, name) => page.locator('#printer-rows tr', { has: page.locator('.p-name', { hasText: name }) });

async function waitLive(page) {
  await page.locator('#conn[data-state="live"]').waitFor({ state: 'visible' });
}

async function screenshot(page, name) {
  fs.mkdirSync(SCREENSHOTS, { recursive: true });
  const file = path.join(SCREENSHOTS, name);
  await page.screenshot({ path: file, fullPage: false });
  return file;
}

function tmpDir(prefix) {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

module.exports = {
  admin, seed, createUser, postPrinters, launch, openPage, login, row, waitLive, screenshot,
  tmpDir, SCREENSHOTS, CHROMIUM_ARGS,
};
