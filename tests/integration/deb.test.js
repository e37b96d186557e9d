// deb.test.js: `make deb` builds printmaster-server and printmaster-agent with
// dpkg-buildpackage; lintian finds no error; the packages are inspected with
// dpkg-deb (files, runtime library dependencies, conffiles, the system user
// made in postinst, units enabled but not started) and their binaries, unpacked
// into a temp dir (never installed on this machine), print --version. The
// build is reused while nothing that goes into it changes.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFileSync, spawnSync } = require('node:child_process');
const h = require('../lib/harness');
const { make, listFiles, systemdAnalyze } = require('../lib/buildkit');

const VERSION = fs.readFileSync(path.join(h.ROOT, 'VERSION'), 'utf8').trim();
const ARCH = execFileSync('dpkg', ['--print-architecture'], { encoding: 'utf8' }).trim();
const DEB_DIR = path.join(h.BUILD, 'deb');
const deb = (name) => path.join(DEB_DIR, `${name}_${VERSION}_${ARCH}.deb`);
const dpkgDeb = (...args) => execFileSync('dpkg-deb', args, { encoding: 'utf8' });
const unpacked = fs.mkdtempSync(path.join(os.tmpdir(), 'pmtest-deb-'));
test.after(() => fs.rmSync(unpacked, { recursive: true, force: true }));

const web = fs.readdirSync(path.join(h.ROOT, 'web')).sort();
const expect = {
  'printmaster-server': {
    libs: ['libjansson4', 'libmicrohttpd12', 'libpq5', 'libsodium23', 'libwebsockets17'],
    conffiles: ['/etc/printmaster/server.conf', '/etc/printmaster/server.env.example'],
    files: ['etc/printmaster/server.conf', 'etc/printmaster/server.env.example',
      'lib/systemd/system/printmaster-server.service', 'usr/bin/printmaster-server',
      'usr/share/doc/printmaster-server/changelog.gz', 'usr/share/doc/printmaster-server/copyright',
      'usr/share/man/man1/printmaster-server.1.gz',
      ...web.map((f) => `usr/share/printmaster/web/${f}`)],
  },
  'printmaster-agent': {
    libs: ['libavahi-client3', 'libcups2', 'libcurl4', 'libjansson4', 'libsodium23', 'libwebsockets17'],
    conffiles: ['/etc/printmaster/agent.conf', '/etc/printmaster/agent.env.example'],
    files: ['etc/printmaster/agent.conf', 'etc/printmaster/agent.env.example',
      'lib/systemd/system/printmaster-agent.service', 'usr/bin/printmaster-agent',
      'usr/share/doc/printmaster-agent/changelog.gz', 'usr/share/doc/printmaster-agent/copyright',
      'usr/share/man/man1/printmaster-agent.1.gz'],
  },
};

test('make deb builds both packages and lintian reports no error', { timeout: 600000 }, () => {
  make(['deb'], { timeout: 600000 });
  for (const name of Object.keys(expect)) assert.ok(fs.existsSync(deb(name)), deb(name));
  const report = fs.readFileSync(path.join(DEB_DIR, 'lintian.txt'), 'utf8');
  assert.deepEqual(report.split('\n').filter((l) => /^E: /.test(l)), []);
  // Up to date: a second make deb builds nothing.
  const stamp = fs.statSync(path.join(DEB_DIR, '.built')).mtimeMs;
  make(['deb']);
  assert.equal(fs.statSync(path.join(DEB_DIR, '.built')).mtimeMs, stamp);
});

for (const [name, want] of Object.entries(expect)) {
  test(`${name}: control, dependencies, conffiles, files`, () => {
    const field = (f) => dpkgDeb('-f', deb(name), f).trim();
    assert.equal(field('Package'), name);
    assert.equal(field('Version'), VERSION);
    // ${shlibs:Depends}: each runtime library, with a version from its symbols.
    const depends = field('Depends').split(/,\s*/).map((d) => d.split(' ')[0]);
    for (const lib of want.libs) assert.ok(depends.includes(lib), `${name} depends on ${lib}: ${depends}`);
    const ctl = path.join(unpacked, `${name}.control`);
    dpkgDeb('-e', deb(name), ctl);
    assert.deepEqual(fs.readFileSync(path.join(ctl, 'conffiles'), 'utf8').trim().split('\n').sort(),
      want.conffiles);
    const root = path.join(unpacked, name);
    dpkgDeb('-x', deb(name), root);
    assert.deepEqual(listFiles(root), want.files.sort());
  });
}

test('maintainer scripts: system user made in postinst, units enabled but not started', () => {
  for (const name of Object.keys(expect)) {
    const ctl = path.join(unpacked, `${name}.control.scripts`);
    dpkgDeb('-e', deb(name), ctl);
    const postinst = fs.readFileSync(path.join(ctl, 'postinst'), 'utf8');
    assert.match(postinst, new RegExp(`deb-systemd-helper enable '${name}.service'`));
    assert.doesNotMatch(postinst, /deb-systemd-invoke (start|restart)/);
    if (name === 'printmaster-server') {
      assert.match(postinst, /getent passwd printmaster[\s\S]*adduser --system --group/);
      assert.ok(dpkgDeb('-f', deb(name), 'Depends').includes('adduser'));
    }
    // sh -n: the script parses.
    const r = spawnSync('sh', ['-n', path.join(ctl, 'postinst')], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
  }
});

test('the packaged binaries run (--version) and the packaged units verify', () => {
  for (const name of Object.keys(expect)) {
    const root = path.join(unpacked, `${name}.run`);
    dpkgDeb('-x', deb(name), root);
    const r = spawnSync(path.join(root, 'usr/bin', name), ['--version'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, `${name} ${VERSION}\n`);
    // Built with Debian's flags, never with this test run's sanitizers.
    assert.ok(!fs.readFileSync(path.join(root, 'usr/bin', name)).includes('__asan_init'));
    const unit = `lib/systemd/system/${name}.service`;
    assert.match(fs.readFileSync(path.join(root, unit), 'utf8'), new RegExp(`^ExecStart=/usr/bin/${name} `, 'm'));
    const v = systemdAnalyze(root, 'verify', [unit]);
    assert.equal(v.code, 0, v.err);
    assert.equal(v.err, '');
  }
});
