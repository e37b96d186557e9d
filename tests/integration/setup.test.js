// setup.test.js: the README's two commands set themselves up on a fresh
// machine. `make -n check` and `make -n run` show scripts/install-deps and
// scripts/services before the first compile; on a machine that has it all the
// set-up is silent and quick; .ci/run is a thin caller of `make check`.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const h = require('../lib/harness');
const { make, cleanEnv } = require('../lib/buildkit');

test('make -n check: set-up before the first compile, then the tests', () => {
  // A build folder that does not exist, so every compile step is listed.
  const build = fs.mkdtempSync(path.join(os.tmpdir(), 'pmtest-mk-'));
  const lines = make(['-n', 'check', `BUILD=${build}/b`], { build: false });
  fs.rmSync(build, { recursive: true, force: true });
  const at = (re) => lines.findIndex((l) => re.test(l));
  const deps = at(/^scripts\/install-deps$/);
  const services = at(/^scripts\/services start$/);
  const compile = at(/^cc .* -c -o /);
  assert.equal(deps, 0, lines.slice(0, 5).join('\n'));
  assert.equal(services, 1);
  assert.ok(compile > services, 'a compile step after the set-up');
  assert.ok(at(/tests\/run$/) > compile, 'tests/run last');
});

test('reading the Makefile runs no pkg-config: a fresh machine has none before the set-up', () => {
  const r = spawnSync('make', ['--no-print-directory', '-n', 'setup'], { cwd: h.ROOT, encoding: 'utf8',
    env: cleanEnv({ PKG_CONFIG: '/nonexistent/pkg-config' }), timeout: 60000 });
  assert.equal(r.status, 0);
  assert.equal(r.stderr, '');
  assert.equal(r.stdout, 'scripts/install-deps\nscripts/services start\n');
});

test('make -n run: set-up before scripts/run-dev', () => {
  const lines = make(['-n', 'run'], { build: false });
  assert.deepEqual(lines.filter((l) => l), ['scripts/install-deps', 'scripts/services start',
    'scripts/run-dev']);
});

test('with everything installed the set-up is silent and quick', () => {
  for (const [cmd, args] of [['scripts/install-deps', []], ['scripts/services', ['start']]]) {
    const t0 = Date.now();
    const r = spawnSync(path.join(h.ROOT, cmd), args, { cwd: h.ROOT, encoding: 'utf8', timeout: 60000 });
    const ms = Date.now() - t0;
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, '');
    assert.equal(r.stderr, '');
    assert.ok(ms < 3000, `${cmd} took ${ms} ms`);
  }
});

test('.ci/run only calls make check; the README names exactly make run and make check', () => {
  const ci = fs.readFileSync(path.join(h.ROOT, '.ci/run'), 'utf8').split('\n')
    .filter((l) => l && !l.startsWith('#'));
  assert.deepEqual(ci, ['set -euo pipefail', 'cd "$(dirname "$0")/.."', 'exec make -j2 check']);
  const readme = fs.readFileSync(path.join(h.ROOT, 'README.md'), 'utf8');
  const block = readme.match(/## Try it\n\n```sh\n([\s\S]*?)```/)[1];
  const cmds = block.split('\n').map((l) => l.replace(/#.*/, '').trim()).filter((l) => l);
  assert.deepEqual(cmds, ['make run', 'make check']);
});
