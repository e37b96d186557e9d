// static.test.js: how the server serves the page's files: the redirect, the
// exact security headers, content types, ETag revalidation, and that nothing
// outside the web root (or off the name pattern) can be fetched.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const h = require('../lib/harness');
const e = require('./helpers');

const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
  "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

let db, s;
test.before(async () => {
  db = await h.createDatabase();
  s = await h.startServer({ db });
});
test.after(async () => { assert.deepEqual(await s.stop(), { code: 0, sig: null }); });

function assertSecurityHeaders(r) {
  assert.equal(r.headers.get('content-security-policy'), CSP);
  assert.equal(r.headers.get('x-frame-options'), 'DENY');
  assert.equal(r.headers.get('referrer-policy'), 'same-origin');
  assert.equal(r.headers.get('x-content-type-options'), 'nosniff');
}

test('GET / redirects to the page', async () => {
  const r = await fetch(s.url + '/', { redirect: 'manual' });
  assert.equal(r.status, 302);
  assert.equal(r.headers.get('location'), '/settings/printing');
});

test('the page and its files: types, security headers, ETag and 304', async () => {
  const html = fs.readFileSync(path.join(h.ROOT, 'web', 'index.html'), 'utf8');
  let r = await h.api(s, 'GET', '/settings/printing');
  assert.equal(r.status, 200);
  assert.equal(r.headers.get('content-type'), 'text/html; charset=utf-8');
  assert.equal(r.text, html);
  assertSecurityHeaders(r);
  assert.equal(r.headers.get('cache-control'), 'no-cache');
  const etag = r.headers.get('etag');
  assert.match(etag, /^"[0-9a-f]{32}"$/);

  r = await h.api(s, 'GET', '/settings/printing', { headers: { 'If-None-Match': etag } });
  assert.equal(r.status, 304);
  assert.equal(r.text, '');
  r = await h.api(s, 'GET', '/settings/printing', { headers: { 'If-None-Match': '"other", W/' + etag } });
  assert.equal(r.status, 304);
  r = await h.api(s, 'GET', '/settings/printing', { headers: { 'If-None-Match': '"0000"' } });
  assert.equal(r.status, 200);

  const types = { 'app.js': 'text/javascript; charset=utf-8', 'api.js': 'text/javascript; charset=utf-8',
    'live.js': 'text/javascript; charset=utf-8', 'ui.js': 'text/javascript; charset=utf-8',
    'style.css': 'text/css; charset=utf-8', 'logo.svg': 'image/svg+xml' };
  for (const [name, type] of Object.entries(types)) {
    r = await h.api(s, 'GET', '/static/' + name);
    assert.equal(r.status, 200, name);
    assert.equal(r.headers.get('content-type'), type, name);
    assert.equal(r.text, fs.readFileSync(path.join(h.ROOT, 'web', name), 'utf8'), name);
    assertSecurityHeaders(r);
  }
  r = await fetch(s.url + '/static/app.js', { method: 'HEAD' });
  assert.equal(r.status, 200);
  assert.equal(r.headers.get('content-type'), 'text/javascript; charset=utf-8');
});

test('nothing outside the allow-list is served', async () => {
  // fetch() normalises "..", so send raw request lines over a socket.
  const net = require('node:net');
  const raw = (target) => new Promise((resolve, reject) => {
    const c = net.connect(s.port, '127.0.0.1');
    let buf = '';
    c.setTimeout(5000, () => { c.destroy(); reject(new Error('timeout')); });
    c.on('data', (d) => { buf += d; });
    c.on('end', () => resolve(Number(buf.split(' ')[1])));
    c.on('error', reject);
    c.write(`GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
  });
  for (const target of ['/static/../server/main.c', '/static/..%2fserver%2fmain.c', '/static/%2e%2e',
    '/static/..', '/static/.%2e/Makefile', '/static/App.js', '/static/missing.js', '/static/helpers.js',
    '/static/', '/static/app.js/x', '/static/.hidden.css', '/static/readme', '/static/x.json',
    '/static/%2Fetc%2Fpasswd.css', '/settings/printing/../../Makefile']) {
    const st = await raw(target);
    assert.equal(st, 404, target);
  }
  // A symlink in the web root is not followed (O_NOFOLLOW).
  const dir = e.tmpDir('pm-web-');
  for (const f of fs.readdirSync(path.join(h.ROOT, 'web'))) fs.copyFileSync(path.join(h.ROOT, 'web', f), path.join(dir, f));
  fs.symlinkSync('/etc/hostname', path.join(dir, 'leak.css'));
  fs.writeFileSync(path.join(dir, 'big.js'), Buffer.alloc(1024 * 1024 + 1, 0x20));
  const s2 = await h.startServer({ db, env: { PRINTMASTER_WEB_ROOT: dir } });
  try {
    assert.equal((await h.api(s2, 'GET', '/static/leak.css')).status, 404);
    assert.equal((await h.api(s2, 'GET', '/static/big.js')).status, 500);
    assert.equal((await h.api(s2, 'GET', '/static/app.js')).status, 200);
  } finally {
    assert.deepEqual(await s2.stop(), { code: 0, sig: null });
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a configured web_root without index.html stops the start', async () => {
  const dir = e.tmpDir('pm-web-empty-');
  const port = await h.freePort();
  const r = require('node:child_process').spawnSync(path.join(h.BIN, 'printmaster-server'), [], {
    env: { ...process.env, DATABASE_URL: db.url, PORT: String(port), PRINTMASTER_BIND: '127.0.0.1',
      PRINTMASTER_DATA_DIR: dir, PRINTMASTER_WEB_ROOT: dir },
    encoding: 'utf8', timeout: 15000,
  });
  fs.rmSync(dir, { recursive: true, force: true });
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /web_root .* has no readable index\.html/);
});

test('the shipped files keep to the policy: no inline code, nothing off-origin', () => {
  const dir = path.join(h.ROOT, 'web');
  const html = fs.readFileSync(path.join(dir, 'index.html'), 'utf8');
  for (const tag of html.match(/<script\b[^>]*>/g)) assert.match(tag, /^<script type="module" src="\/static\/[a-z]+\.js">$/);
  assert.equal(/<script\b[^>]*>[^<]+<\/script>/.test(html), false, 'inline script');
  assert.equal(/\son[a-z]+\s*=/.test(html), false, 'inline event handler');
  assert.equal(/\sstyle\s*=/.test(html), false, 'style attribute');
  assert.equal(/<style\b/.test(html), false, 'style element');
  for (const m of html.matchAll(/\s(?:src|href)="([^"]+)"/g)) assert.match(m[1], /^(\/static\/[a-z0-9._-]+|#main)$/, m[1]);
  for (const f of fs.readdirSync(dir).filter((x) => x.endsWith('.js'))) {
    const js = fs.readFileSync(path.join(dir, f), 'utf8');
    assert.equal(/innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function/.test(js), false, f);
    assert.equal(/\.style\.|setAttribute\(['"]style/.test(js), false, `${f} sets inline styles`);
    assert.equal(/https?:\/\//.test(js), false, `${f} names another origin`);
    for (const m of js.matchAll(/^import .* from '([^']+)';$/gm)) assert.match(m[1], /^\.\/[a-z]+\.js$/, f);
  }
  assert.equal(/@import|url\(\s*['"]?https?:/.test(fs.readFileSync(path.join(dir, 'style.css'), 'utf8')), false);
});
