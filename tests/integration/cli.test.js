// cli.test.js: the command lines of both programs: --help, --version,
// --print-config (secrets masked), precedence, clear errors, and that
// docs/configuration.md is what the settings tables say.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const h = require('../lib/harness');

function run(bin, args, env = {}) {
  const r = spawnSync(path.join(h.BIN, bin), args, {
    encoding: 'utf8',
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ASAN_OPTIONS: process.env.ASAN_OPTIONS,
      LSAN_OPTIONS: process.env.LSAN_OPTIONS, UBSAN_OPTIONS: process.env.UBSAN_OPTIONS, ...env },
    timeout: 20000,
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

for (const bin of ['printmaster-server', 'printmaster-agent']) {
  test(`${bin} --help and --version`, () => {
    let r = run(bin, ['--help']);
    assert.equal(r.code, 0);
    assert.match(r.out, /usage: /);
    assert.match(r.out, /--print-config/);
    assert.match(r.out, /--log-level/);
    r = run(bin, ['--version']);
    assert.equal(r.code, 0);
    const version = fs.readFileSync(path.join(h.ROOT, 'VERSION'), 'utf8').trim();
    assert.equal(r.out.trim(), `${bin} ${version}`);
  });

  test(`${bin}: a bad value is a clear error naming its origin`, (t) => {
    let r = run(bin, ['--log-level', 'loud', '--print-config']);
    assert.equal(r.code, 2);
    assert.match(r.err, /--log-level: log_level must be one of error\|warn\|info\|debug, not 'loud'/);
    r = run(bin, ['--print-config'], { PRINTMASTER_LOG_FORMAT: 'xml' });
    assert.equal(r.code, 2);
    assert.match(r.err, /PRINTMASTER_LOG_FORMAT: log_format must be one of text\|json/);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pmcli-'));
    t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
    const f = path.join(dir, 'x.conf');
    fs.writeFileSync(f, '# test\nlog_level = debug\nno_such_key = 1\n');
    r = run(bin, ['--config', f, '--print-config']);
    assert.equal(r.code, 2);
    assert.match(r.err, new RegExp(`${f.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:3: unknown setting 'no_such_key'`));
  });
}

test('printmaster-server: defaults < file < environment < flags, secrets masked', (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pmcli-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const f = path.join(dir, 'server.conf');
  fs.writeFileSync(f, 'port = 4000\nthreads = 3\nlog_level = warn\n' +
    'database_url = postgresql://pm:s3cret-pass@db.example/pm\n');
  let r = run('printmaster-server', ['--print-config']);
  assert.equal(r.code, 0);
  assert.match(r.out, /^port = 3001$/m);
  r = run('printmaster-server', ['--config', f, '--print-config']);
  assert.match(r.out, /^port = 4000$/m);
  assert.match(r.out, /^threads = 3$/m);
  assert.doesNotMatch(r.out, /s3cret-pass/);
  assert.match(r.out, /^database_url = \*+$/m);
  r = run('printmaster-server', ['--config', f, '--print-config'], { PORT: '4100', PRINTMASTER_THREADS: '5' });
  assert.match(r.out, /^port = 4100$/m);
  assert.match(r.out, /^threads = 5$/m);
  r = run('printmaster-server', ['--config', f, '--print-config', '--port=4200', '--threads', '6'],
    { PORT: '4100', PRINTMASTER_THREADS: '5' });
  assert.match(r.out, /^port = 4200$/m);
  assert.match(r.out, /^threads = 6$/m);
  assert.match(r.out, /^log_level = warn$/m);
  r = run('printmaster-server', ['--port', '99999', '--print-config']);
  assert.equal(r.code, 2);
  assert.match(r.err, /port must be between 1 and 65535, not 99999/);
  r = run('printmaster-server', ['frobnicate']);
  assert.equal(r.code, 2);
  assert.match(r.err, /unknown command or option 'frobnicate'/);
});

test('docs/configuration.md is generated from the settings tables', () => {
  const r = spawnSync(path.join(h.ROOT, 'scripts', 'gen-config-docs'), [], {
    encoding: 'utf8', env: { ...process.env, BIN: h.BIN },
  });
  assert.equal(r.status, 0, r.stderr);
  const committed = fs.readFileSync(path.join(h.ROOT, 'docs', 'configuration.md'), 'utf8');
  assert.equal(committed, r.stdout, 'docs/configuration.md is stale: run `make docs`');
});
