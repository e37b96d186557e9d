// buildkit.js: what the build, install and packaging tests stand on: make run
// as a child of its own (nothing of the make running the tests leaks in), and
// systemd-analyze over an installed tree (no systemd runs here, so it checks
// a copy of the tree with the system's own units beside it).
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const h = require('./harness');

function cleanEnv(extra = {}) {
  const env = { ...process.env, ...extra };
  for (const v of ['MAKEFLAGS', 'MFLAGS', 'MAKELEVEL', 'MAKEOVERRIDES']) delete env[v];
  return env;
}

// `make ARGS` in the tree (or opts.cwd) with this test run's BUILD and SAN;
// throws with its output unless it exits 0. Returns stdout's lines.
function make(args, { cwd = h.ROOT, timeout = 300000, build = true } = {}) {
  const vars = build ? [`BUILD=${h.BUILD}`, ...(process.env.SAN ? [`SAN=${process.env.SAN}`] : [])] : [];
  const r = spawnSync('make', ['--no-print-directory', ...args, ...vars],
    { cwd, env: cleanEnv(), encoding: 'utf8', timeout, maxBuffer: 64 << 20 });
  if (r.status !== 0) {
    throw new Error(`make ${args.join(' ')} exited ${r.status}${r.signal ? ' (' + r.signal + ')' : ''}:\n` +
      `${(r.stdout || '').slice(-3000)}\n${(r.stderr || '').slice(-3000)}`);
  }
  return r.stdout.split('\n');
}

// Every file under dir, relative, sorted.
function listFiles(dir) {
  const out = [];
  const walk = (d) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.push(path.relative(dir, p));
    }
  };
  walk(dir);
  return out.sort();
}

// systemd-analyze `verb` on units (paths relative to root) of an installed
// tree: ExecStart binaries and man: pages are looked up inside that tree.
// Returns { code, out, err }.
function systemdAnalyze(root, verb, units, extraArgs = []) {
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'pmtest-units-'));
  try {
    fs.cpSync(root, scratch, { recursive: true, verbatimSymlinks: true });
    fs.mkdirSync(path.join(scratch, 'lib/systemd'), { recursive: true });
    fs.cpSync('/lib/systemd/system', path.join(scratch, 'lib/systemd/system'),
      { recursive: true, verbatimSymlinks: true, force: false, errorOnExist: false });
    const r = spawnSync('systemd-analyze', [verb, `--root=${scratch}`, ...extraArgs, ...units], {
      cwd: scratch, encoding: 'utf8', timeout: 60000,
      env: cleanEnv({ MANPATH: path.join(scratch, 'usr/share/man'), SYSTEMD_LOG_LEVEL: 'warning' }),
    });
    return { code: r.status, out: r.stdout, err: r.stderr };
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}

module.exports = { make, cleanEnv, listFiles, systemdAnalyze };
