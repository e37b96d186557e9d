// install.test.js: `make install DESTDIR=... PREFIX=/usr` puts the binaries,
// the page, man pages from --help, example configs and hardened systemd units
// where they belong; systemd-analyze verify accepts the units; the installed
// server finds its page; a second install keeps an edited config.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const h = require('../lib/harness');
const { make, listFiles, systemdAnalyze } = require('../lib/buildkit');

const dest = fs.mkdtempSync(path.join(os.tmpdir(), 'pmtest-install-'));
test.after(() => fs.rmSync(dest, { recursive: true, force: true }));
const web = fs.readdirSync(path.join(h.ROOT, 'web')).sort();
const units = ['usr/lib/systemd/system/printmaster-agent.service',
  'usr/lib/systemd/system/printmaster-server.service'];

test('make install DESTDIR PREFIX=/usr: every file in its place', () => {
  make(['install', `DESTDIR=${dest}`, 'PREFIX=/usr']);
  assert.deepEqual(listFiles(dest), [
    'etc/printmaster/agent.conf', 'etc/printmaster/agent.env.example',
    'etc/printmaster/server.conf', 'etc/printmaster/server.env.example',
    'usr/bin/printmaster-agent', 'usr/bin/printmaster-server',
    ...units,
    'usr/share/man/man1/printmaster-agent.1', 'usr/share/man/man1/printmaster-server.1',
    ...web.map((f) => `usr/share/printmaster/web/${f}`),
  ].sort());
  for (const b of ['printmaster-agent', 'printmaster-server']) {
    const st = fs.statSync(path.join(dest, 'usr/bin', b));
    assert.equal(st.mode & 0o777, 0o755);
    const r = spawnSync(path.join(dest, 'usr/bin', b), ['--version'], { encoding: 'utf8' });
    assert.equal(r.stdout, `${b} ${fs.readFileSync(path.join(h.ROOT, 'VERSION'), 'utf8').trim()}\n`);
  }
  assert.equal(fs.readFileSync(path.join(dest, 'etc/printmaster/server.conf'), 'utf8'),
    fs.readFileSync(path.join(h.ROOT, 'dist/server.conf.example'), 'utf8'));
});

test('man pages are made from --help', () => {
  for (const [b, opt] of [['printmaster-server', '--max-body-bytes'], ['printmaster-agent', '--server-url']]) {
    const r = spawnSync('man', ['-l', path.join(dest, 'usr/share/man/man1', `${b}.1`)],
      { encoding: 'utf8', env: { ...process.env, MANWIDTH: '100', MAN_KEEP_FORMATTING: '' } });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^NAME\\n\\s+${b}\\s+-\\s+printer\\s+discovery\\s+and\\s+sync`, 'm'));
    assert.ok(r.stdout.includes(opt), `${b}.1 lists ${opt}`);
  }
});

test('the units: installed paths, hardening, systemd-analyze verify and security', () => {
  for (const u of units) {
    const text = fs.readFileSync(path.join(dest, u), 'utf8');
    assert.doesNotMatch(text, /@[A-Z]+@/);
    const bin = path.basename(u, '.service');
    assert.match(text, new RegExp(`^ExecStart=/usr/bin/${bin} --config /etc/printmaster/`, 'm'));
    for (const line of ['DynamicUser=yes', 'ProtectSystem=strict', 'NoNewPrivileges=yes',
      'ProtectHome=yes', 'PrivateTmp=yes', 'CapabilityBoundingSet=',
      `StateDirectory=${bin === 'printmaster-server' ? 'printmaster' : 'printmaster-agent'}`,
      `ConditionPathExists=/etc/printmaster/${bin.replace('printmaster-', '')}.env`]) {
      assert.match(text, new RegExp(`^${line}$`, 'm'), `${u}: ${line}`);
    }
  }
  let r = systemdAnalyze(dest, 'verify', units);
  assert.equal(r.code, 0, r.err);
  assert.equal(r.err, '', 'no warning from systemd-analyze verify');
  for (const u of units) {
    r = systemdAnalyze(dest, 'security', [u], ['--offline=yes', '--no-pager']);
    assert.equal(r.code, 0, r.err);
    const level = Number(r.out.match(/Overall exposure level for \S+: ([\d.]+)/)[1]);
    assert.ok(level <= 4.0, `${u}: exposure ${level} (systemd calls up to 4.9 "OK")`);
  }
});

test('systemd-analyze verify refuses a unit it does not understand', () => {
  // The check above is only worth something if a bad line makes it complain.
  const bad = fs.mkdtempSync(path.join(os.tmpdir(), 'pmtest-badunit-'));
  try {
    fs.cpSync(dest, bad, { recursive: true });
    const u = path.join(bad, units[1]);
    fs.writeFileSync(u, fs.readFileSync(u, 'utf8').replace('ProtectSystem=strict', 'ProtectSystem=sometimes'));
    const r = systemdAnalyze(bad, 'verify', units);
    assert.match(r.err, /Failed to parse protect system value/);
  } finally {
    fs.rmSync(bad, { recursive: true, force: true });
  }
});

test('the installed server serves the page from PREFIX/share/printmaster/web', async () => {
  const db = await h.createDatabase();
  const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'pmtest-cwd-'));
  const s = await h.startServer({ db, bin: path.join(dest, 'usr/bin/printmaster-server'), cwd });
  try {
    const r = await h.api(s, 'GET', '/settings/printing');
    assert.equal(r.status, 200);
    assert.equal(r.text, fs.readFileSync(path.join(h.ROOT, 'web/index.html'), 'utf8'));
    assert.match(s.log(), new RegExp(`serving the page from ${dest}/usr/share/printmaster/web`));
  } finally {
    await s.stop();
    fs.rmSync(cwd, { recursive: true, force: true });
  }
});

test('installing again keeps an edited config and refreshes the examples', () => {
  const conf = path.join(dest, 'etc/printmaster/agent.conf');
  fs.writeFileSync(conf, 'server_url = https://edited.example\n');
  fs.writeFileSync(path.join(dest, 'etc/printmaster/agent.env.example'), 'stale\n');
  make(['install', `DESTDIR=${dest}`, 'PREFIX=/usr']);
  assert.equal(fs.readFileSync(conf, 'utf8'), 'server_url = https://edited.example\n');
  assert.equal(fs.readFileSync(path.join(dest, 'etc/printmaster/agent.env.example'), 'utf8'),
    fs.readFileSync(path.join(h.ROOT, 'dist/agent.env.example'), 'utf8'));
});
