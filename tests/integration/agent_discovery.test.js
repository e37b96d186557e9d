// agent_discovery.test.js: `printmaster-agent discover` against real peers the
// test starts itself: a fake sysfs tree (usb), TCP listeners on 127.0.0.x and a
// network namespace of its own (netscan), ippeveprinter (ipp, and dnssd through
// the system avahi), a private cupsd with lpadmin queues (cups), and the merge
// of one printer seen by cups, dnssd and ipp. Everything started is stopped by PID.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const net = require('node:net');
const path = require('node:path');
const crypto = require('node:crypto');
const { spawn, spawnSync, execFileSync } = require('node:child_process');
const h = require('../lib/harness');

const AGENT = path.join(h.BIN, 'printmaster-agent');
const HOST = os.hostname().trim().toLowerCase();
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const tag = crypto.randomBytes(3).toString('hex');
const procs = [];
const dirs = [];

function tmpdir(prefix) {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  dirs.push(d);
  return d;
}

function startProc(cmd, args, opts = {}) {
  const log = path.join(tmpdir('pmdisc-log-'), 'out.log');
  const fd = fs.openSync(log, 'a');
  const p = spawn(cmd, args, { stdio: ['ignore', fd, fd], ...opts });
  fs.closeSync(fd);
  p.exitInfo = null;
  p.on('exit', (code, sig) => { p.exitInfo = { code, sig }; });
  p.log = () => fs.readFileSync(log, 'utf8');
  procs.push(p);
  return p;
}

async function stopProc(p) {
  if (!p || p.exitInfo) return;
  p.kill('SIGTERM');
  try {
    await h.waitFor(() => p.exitInfo, { timeout: 5000, what: 'process exit' });
  } catch (e) {
    p.kill('SIGKILL');
  }
}

// A failed set-up must not leave servers running (they would also keep this
// file's event loop alive).
test.after(async () => {
  for (const p of procs) await stopProc(p);
});

process.on('exit', () => {
  for (const p of procs) if (!p.exitInfo) { try { p.kill('SIGKILL'); } catch (e) { /* gone */ } }
  for (const d of dirs) {
    try { fs.rmSync(d, { recursive: true, force: true, maxRetries: 3 }); } catch (e) { /* busy */ }
  }
});

// Run the agent once; resolves { code, stdout, stderr, json, ms }.
function discover(args, { env = {}, netns, timeout = 60000 } = {}) {
  return new Promise((resolve, reject) => {
    const argv = ['discover', '--json', ...args];
    const cmd = netns ? 'ip' : AGENT;
    const full = netns ? ['netns', 'exec', netns, AGENT, ...argv] : argv;
    const t0 = Date.now();
    const p = spawn(cmd, full, {
      env: { ...process.env, PRINTMASTER_LOG_LEVEL: 'info', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    const timer = setTimeout(() => p.kill('SIGKILL'), timeout);
    p.stdout.on('data', (d) => { out += d; });
    p.stderr.on('data', (d) => { err += d; });
    p.on('error', reject);
    p.on('close', (code) => {
      clearTimeout(timer);
      let json;
      try { json = JSON.parse(out); } catch (e) { json = undefined; }
      resolve({ code, stdout: out, stderr: err, json, ms: Date.now() - t0 });
    });
  });
}

function byKey(list, key) { return list.find((p) => p.deviceKey === key); }

// Browse until avahi has the service named `name` (registration takes a
// moment); resolves { r, p }: the whole run and that printer.
async function dnssdFind(name, what) {
  let r;
  let p;
  await h.waitFor(async () => {
    r = await discover(['--sources', 'dnssd', '--dnssd-browse-ms', '3000']);
    p = r.json && r.json.find((x) => x.name === name);
    return p;
  }, { timeout: 20000, what });
  return { r, p };
}

// A TCP listener on host:port that records what each connection sends and
// optionally answers. Resolves null when the address is taken.
function listen(host, port, reply) {
  return new Promise((resolve) => {
    const got = [];
    const srv = net.createServer((c) => {
      const chunks = [];
      got.push(chunks);
      c.on('data', (d) => {
        chunks.push(d);
        if (reply) c.write(reply);
      });
      c.on('error', () => {});
    });
    srv.on('error', () => resolve(null));
    srv.listen(port, host, () => resolve({
      srv, got,
      bytes: () => Buffer.concat(got.flat()),
      close: () => new Promise((r) => srv.close(r)),
    }));
  });
}

// ---------------------------------------------------------------- usb
test('usb: IEEE 1284 ids from a fake sysfs tree, malformed ones skipped', async () => {
  const root = tmpdir('pmdisc-sysfs-');
  const dev = (bus, id) => {
    const d = path.join(root, 'devices/pci0000:00/usb1', bus);
    fs.mkdirSync(d, { recursive: true });
    if (id !== null) fs.writeFileSync(path.join(d, 'ieee1284_id'), id);
    return d;
  };
  const lp = (name, target) => {
    const d = path.join(root, 'class/usbmisc', name);
    fs.mkdirSync(d, { recursive: true });
    fs.symlinkSync(path.relative(d, target), path.join(d, 'device'));
  };
  lp('lp0', dev('1-1:1.0', 'MFG:EPSON;CMD:ESC/POS;MDL:TM-T20II;SN:X5F1234;DES:EPSON TM-T20II;'));
  lp('lp1', dev('1-2:1.0', 'MANUFACTURER:Star Micronics;MODEL:TSP143;COMMAND SET:STAR,ESC/POS;'));
  lp('lp2', dev('1-3:1.0', 'garbage without any fields'));
  lp('lp3', dev('1-4:1.0', null));
  lp('lp4', dev('1-5:1.0', Buffer.concat([Buffer.from('MFG:Zeb\x01ra'), Buffer.from([0xff]), Buffer.from(';MDL:'),
    Buffer.alloc(3000, 'Z'), Buffer.from(';SN:Q1;')])));

  const r = await discover(['--sources', 'usb', '--sysfs-root', root]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.json.length, 3, r.stdout);
  const epson = byKey(r.json, 'sn:epson:X5F1234');
  assert.ok(epson, r.stdout);
  assert.equal(epson.manufacturer, 'EPSON');
  assert.equal(epson.model, 'TM-T20II');
  assert.equal(epson.connectionType, 'usb');
  assert.deepEqual(epson.sources, ['usb']);
  assert.deepEqual(epson.capabilities.commandSet, ['ESC/POS']);
  const star = byKey(r.json, `usb:${HOST}:1-2:1.0`);
  assert.ok(star, r.stdout);
  assert.equal(star.manufacturer, 'Star Micronics');
  assert.deepEqual(star.capabilities.commandSet, ['STAR', 'ESC/POS']);
  // Control characters dropped, bad bytes '?', the huge model cut: and the
  // serial past the 1024-byte limit is never read, so the key is the bus path.
  const zebra = byKey(r.json, `usb:${HOST}:1-5:1.0`);
  assert.ok(zebra, r.stdout);
  assert.equal(zebra.manufacturer, 'Zebra?');
  assert.equal(zebra.model.length, 255);
  assert.equal(zebra.serialNumber, undefined);
  assert.match(r.stderr, /usb: lp2: IEEE 1284 id has no MFG, MDL or DES; skipped/);
  assert.match(r.stderr, /usb: lp3 has no readable ieee1284_id/);

  const none = await discover(['--sources', 'usb', '--sysfs-root', path.join(root, 'nope')]);
  assert.equal(none.code, 0);
  assert.deepEqual(none.json, []);
  assert.match(none.stderr, /usb: no .*class\/usbmisc/);
});

// ---------------------------------------------------------------- netscan
test('netscan: loopback listeners grouped per DESIGN 2.2, ESC/POS only where allowed', async (t) => {
  // 127.0.0.0/28 as the issue asks; when another run of this test holds those
  // addresses, a random /28 elsewhere in 127/8 behaves the same.
  let base = '127.0.0';
  let ls = null;
  for (let attempt = 0; attempt < 5 && !ls; attempt++) {
    if (attempt > 0) base = `127.${20 + crypto.randomInt(200)}.${crypto.randomInt(250)}`;
    const want = [
      [`${base}.2`, 9100], [`${base}.2`, 631], [`${base}.2`, 515],
      [`${base}.3`, 9100], [`${base}.3`, 9101], [`${base}.3`, 9102],
      [`${base}.4`, 9100, Buffer.from([0x12 | 0x08, 0x12 | 0x60])],
      [`${base}.5`, 515],
    ];
    const got = [];
    for (const [hst, port, reply] of want) {
      const l = await listen(hst, port, reply);
      if (!l) break;
      got.push(l);
    }
    if (got.length === want.length) ls = got;
    else for (const l of got) await l.close();
  }
  assert.ok(ls, 'could not open the loopback listeners');
  const [raw2, ipp2, , , , , escpos4] = ls;
  try {
    const r = await discover(['--sources', 'netscan', '--netscan-cidrs', `${base}.0/28`,
      '--netscan-ports', '9100,9101,9102,631,515', '--netscan-timeout-ms', '500',
      '--escpos-status', `${base}.4:9100`]);
    assert.equal(r.code, 0, r.stderr);
    const mine = r.json.filter((p) => p.address && p.address.startsWith(`${base}.`) &&
      ['2', '3', '4', '5', '6'].includes(p.address.split('.')[3]));
    assert.deepEqual(mine.map((p) => p.deviceKey).sort(), [
      `net:${base}.2:9100`, `net:${base}.3:9100`, `net:${base}.3:9101`,
      `net:${base}.3:9102`, `net:${base}.4:9100`, `net:${base}.5:515`].sort(), r.stdout);
    const h2 = byKey(mine, `net:${base}.2:9100`);
    assert.equal(h2.protocol, 'raw');
    assert.equal(h2.uri, `socket://${base}.2:9100`);
    assert.equal(h2.status, 'online');
    assert.deepEqual(h2.sources, ['netscan']);
    assert.equal(byKey(mine, `net:${base}.5:515`).protocol, 'lpd');
    // The one allowed DLE EOT exchange, parsed into status and reasons.
    const e4 = byKey(mine, `net:${base}.4:9100`);
    assert.equal(e4.status, 'error');
    assert.deepEqual(e4.stateReasons, ['offline-report', 'media-empty']);
    assert.deepEqual([...escpos4.bytes()], [0x10, 0x04, 0x01, 0x10, 0x04, 0x04]);
    // Nothing is ever written to a raw port that is not listed.
    for (const l of ls.slice(3, 6)) assert.equal(l.bytes().length, 0);
    assert.equal(raw2.bytes().length, 0);
    assert.ok(raw2.got.length >= 1, 'the raw port was probed');
    // The 631 hit went on to the ipp source only when ipp runs (not here).
    assert.equal(ipp2.bytes().length, 0);
    assert.match(r.stderr, /netscan: \d+ probes in \d+ ms: \d+ open, \d+ refused, 0 timed out/);

    // With ipp on, the 631 hit is asked Get-Printer-Attributes, which fails
    // on this mute listener with one line; the scan result stands.
    const r2 = await discover(['--sources', 'netscan,ipp', '--netscan-cidrs', `${base}.2/32`,
      '--ipp-timeout-ms', '500']);
    assert.equal(r2.code, 0);
    assert.ok(byKey(r2.json, `net:${base}.2:9100`), r2.stdout);
    assert.ok(ipp2.bytes().toString().startsWith('POST /ipp/print HTTP/1.1'));
    assert.match(r2.stderr, new RegExp(`ipp: ipp://${base.replace(/\./g, '\\.')}\\.2:631/ipp/print \\(from netscan\\): Get-Printer-Attributes failed`));
  } finally {
    for (const l of ls) await l.close();
  }

  // Wider than /16 is refused before any packet; bad CIDRs too.
  for (const [cidr, msg] of [['10.0.0.0/8', /refusing '10\.0\.0\.0\/8': wider than \/16/],
    ['127.0.0.300/28', /not an IPv4 CIDR/]]) {
    const w = await discover(['--sources', 'netscan', '--netscan-cidrs', cidr]);
    assert.equal(w.code, 0);
    assert.deepEqual(w.json, []);
    assert.match(w.stderr, msg);
    assert.doesNotMatch(w.stderr, /probes in/);
  }
  const none = await discover(['--sources', 'netscan']);
  assert.deepEqual(none.json, []);
  assert.match(none.stderr, /no netscan_cidrs configured; nothing scanned/);
});

test('netscan: timeouts and the concurrency limit, in a network namespace of our own', async (t) => {
  const ns = `pmdisc-${tag}`;
  const ip = (...a) => spawnSync('ip', a, { encoding: 'utf8' });
  if (ip('netns', 'add', ns).status !== 0) {
    t.skip('ip netns add is not permitted here; timeout path not tested');
    return;
  }
  try {
    // Two addresses on a veth whose far end has no IP stack: SYNs vanish.
    for (const cmd of [['link', 'set', 'lo', 'up'],
      ['link', 'add', 'va', 'type', 'veth', 'peer', 'name', 'vb'],
      ['addr', 'add', '10.213.7.1/24', 'dev', 'va'], ['link', 'set', 'va', 'up'],
      ['link', 'set', 'vb', 'up'],
      ['neigh', 'add', '10.213.7.9', 'lladdr', '02:00:00:00:00:09', 'dev', 'va', 'nud', 'permanent'],
      ['neigh', 'add', '10.213.7.10', 'lladdr', '02:00:00:00:00:0a', 'dev', 'va', 'nud', 'permanent']]) {
      const r = ip('-n', ns, ...cmd);
      assert.equal(r.status, 0, `ip ${cmd.join(' ')}: ${r.stderr}`);
    }
    const args = ['--sources', 'netscan', '--netscan-cidrs', '10.213.7.8/30',
      '--netscan-timeout-ms', '300'];
    const par = await discover(args, { netns: ns });
    assert.equal(par.code, 0, par.stderr);
    assert.deepEqual(par.json, []);
    assert.match(par.stderr, /netscan: 6 probes in \d+ ms: 0 open, 0 refused, 6 timed out/);
    assert.ok(par.ms >= 300 && par.ms < 2500, `parallel scan took ${par.ms} ms`);
    const one = await discover([...args, '--netscan-concurrency', '1'], { netns: ns });
    assert.match(one.stderr, /6 timed out/);
    assert.ok(one.ms >= 1800, `one at a time must take 6 x 300 ms, took ${one.ms} ms`);
    // The pass's own time limit stops a scan that would run longer.
    const cut = await discover([...args, '--netscan-concurrency', '1', '--netscan-timeout-ms',
      '2000', '--timeout', '1'], { netns: ns });
    assert.ok(cut.ms < 2500, `time limit ignored: ${cut.ms} ms`);
    assert.match(cut.stderr, /netscan: stopped early/);
  } finally {
    ip('netns', 'del', ns);
  }
});

// ---------------------------------------------------------------- ipp, dnssd, cups, merge
test('ipp, dnssd, cups and the merge, against ippeveprinter and a private cupsd', async (t) => {
  execFileSync(path.join(h.ROOT, 'scripts/services'), ['start'], { stdio: 'ignore' });
  const name = `PM Disc ${tag}`;
  const port = await h.freePort();
  const spool = tmpdir('pmdisc-ipp-');
  const ipp = startProc('ippeveprinter', ['-p', String(port), '-n', 'localhost', '-d', spool,
    '-f', 'application/pdf,text/plain', '-l', 'Front counter', '-M', 'Acme', '-m', 'K80', name]);
  const uri = `ipp://127.0.0.1:${port}/ipp/print`;
  let uuid;
  await h.waitFor(() => {
    if (ipp.exitInfo) throw new Error(`ippeveprinter exited: ${ipp.log()}`);
    const r = spawnSync('ipptool', ['-T', '2', '-tv', uri, 'get-printer-attributes.test'],
      { encoding: 'utf8' });
    const m = /printer-uuid \(uri\) = urn:uuid:([0-9a-f-]{36})/.exec(r.stdout || '');
    uuid = m && m[1];
    return uuid;
  }, { timeout: 15000, what: 'ippeveprinter answering' });

  // A second, unregistered printer with oversized attributes.
  const bigPort = await h.freePort();
  const big = startProc('ippeveprinter', ['-p', String(bigPort), '-n', 'localhost', '-r', 'off',
    '-d', tmpdir('pmdisc-ipp2-'), '-l', 'L'.repeat(3000), '-M', 'M'.repeat(300), '-m',
    'm'.repeat(600), `PM Big ${tag}`]);
  await h.waitFor(() => {
    if (big.exitInfo) throw new Error(`ippeveprinter exited: ${big.log()}`);
    // ipptool itself rejects the oversized values; it answering is enough.
    const r = spawnSync('ipptool', ['-T', '2', '-tv', `ipp://127.0.0.1:${bigPort}/ipp/print`,
      'get-printer-attributes.test'], { encoding: 'utf8' });
    return /printer-uuid \(uri\) = urn:uuid:/.test(r.stdout || '');
  }, { timeout: 15000, what: 'second ippeveprinter' });

  // A private cupsd with its own directories and socket.
  const cdir = tmpdir('pmdisc-cups-');
  for (const d of ['spool', 'tmp', 'cache', 'state', 'log']) fs.mkdirSync(path.join(cdir, d));
  const sock = path.join(cdir, 'cups.sock');
  fs.writeFileSync(path.join(cdir, 'cupsd.conf'), [
    `Listen ${sock}`, 'Browsing No', 'WebInterface No', 'LogLevel warn',
    'DefaultAuthType None', '<Location />', 'Order allow,deny', 'Allow all', '</Location>',
    '<Location /admin>', 'Order allow,deny', 'Allow all', '</Location>',
    '<Policy default>', '<Limit All>', 'Order deny,allow', '</Limit>', '</Policy>', ''].join('\n'));
  fs.writeFileSync(path.join(cdir, 'cups-files.conf'), [
    `ServerRoot ${cdir}`, `RequestRoot ${cdir}/spool`, `TempDir ${cdir}/tmp`,
    `CacheDir ${cdir}/cache`, `StateDir ${cdir}/state`, `ErrorLog ${cdir}/log/error_log`,
    `AccessLog ${cdir}/log/access_log`, `PageLog ${cdir}/log/page_log`, 'FileDevice Yes',
    'Sandboxing relaxed', ''].join('\n'));
  const cupsd = startProc('cupsd', ['-f', '-c', path.join(cdir, 'cupsd.conf'), '-s',
    path.join(cdir, 'cups-files.conf')]);
  await h.waitFor(() => {
    if (cupsd.exitInfo) throw new Error(`cupsd exited: ${cupsd.log()}`);
    // lpstat -r exits 0 either way; its words say whether cupsd answers.
    const r = spawnSync('lpstat', ['-h', sock, '-r'], { encoding: 'utf8' });
    return fs.existsSync(sock) && /scheduler is running/.test(r.stdout || '');
  }, { timeout: 15000, what: 'private cupsd' });
  const lpadmin = (...a) => {
    const r = spawnSync('lpadmin', ['-h', sock, ...a], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
  };
  const q = `pm_${tag}`;
  lpadmin('-p', `${q}_ipp`, '-E', '-v', uri, '-m', 'raw');
  lpadmin('-p', `${q}_dnssd`, '-E', '-v',
    `dnssd://${encodeURIComponent(name)}._ipp._tcp.local/?uuid=${uuid}`, '-m', 'raw');
  lpadmin('-p', `${q}_kitchen`, '-E', '-v', 'file:///dev/null', '-m', 'raw', '-L', 'Kitchen',
    '-D', 'Kitchen tickets');
  assert.equal(spawnSync('cupsdisable', ['-h', sock, `${q}_kitchen`]).status, 0);
  const cupsEnv = { CUPS_SERVER: sock };

  try {
    await t.test('ipp: Get-Printer-Attributes on configured ipp_uris', async () => {
      const r = await discover(['--sources', 'ipp', '--ipp-uris',
        `${uri},ipp://127.0.0.1:${bigPort}/ipp/print,http://not-ipp/,ipp://127.0.0.1:1/ipp/print`]);
      assert.equal(r.code, 0, r.stderr);
      const p = byKey(r.json, `uuid:${uuid}`);
      assert.ok(p, r.stdout);
      assert.equal(p.uuid, uuid);
      assert.equal(p.name, name);
      assert.equal(p.makeAndModel, 'Acme K80');
      assert.equal(p.manufacturer, 'Acme');
      assert.equal(p.model, 'K80');
      assert.equal(p.location, 'Front counter');
      assert.equal(p.status, 'online');
      assert.equal(p.protocol, 'ipp');
      assert.equal(p.port, port);
      assert.deepEqual(p.sources, ['ipp']);
      assert.ok(p.capabilities.documentFormats.includes('application/pdf'));
      assert.ok(p.capabilities.documentFormats.includes('text/plain'));
      // Oversized values are cut to the PrinterData limits, not refused.
      const b = r.json.find((x) => x.name === `PM Big ${tag}`);
      assert.ok(b, r.stdout);
      assert.match(b.uuid, UUID_RE);
      assert.notEqual(b.uuid, uuid);
      assert.equal(b.location.length, 255);
      assert.ok(b.makeAndModel.length <= 255);
      assert.match(r.stderr, /ignoring ipp_uris entry 'http:\/\/not-ipp\/'/);
      assert.match(r.stderr, /ipp: ipp:\/\/127\.0\.0\.1:1\/ipp\/print \(from config\): cannot connect/);
      assert.equal(r.json.length, 2);
    });

    await t.test('dnssd: ippeveprinter found through avahi, with its TXT UUID', async () => {
      const { r, p } = await dnssdFind(name, 'the test printer in DNS-SD');
      assert.equal(p.uuid, uuid);
      assert.equal(p.deviceKey, `uuid:${uuid}`);
      assert.equal(p.port, port);
      assert.equal(p.protocol, 'ipp');
      assert.equal(p.makeAndModel, 'Acme K80');
      assert.equal(p.location, 'Front counter');
      assert.deepEqual(p.sources, ['dnssd']);
      assert.ok(p.capabilities.dnssdTypes.includes('_ipp._tcp'));
      assert.equal(r.json.filter((x) => x.name === name).length, 1);
    });

    await t.test('dnssd: garbage TXT records are dropped, the service still listed', async () => {
      const gname = `PM Garbage ${tag}`;
      const pub = startProc('avahi-publish-service', [gname, '_pdl-datastream._tcp', '9',
        'UUID=not-a-uuid', 'rp=../x y<z>', `ty=${'T'.repeat(240)}`, 'usb_MFG=Acme\u0001',
        '=broken']);
      try {
        const { r, p } = await dnssdFind(gname, 'the garbage service in DNS-SD');
        assert.equal(p.uuid, undefined);
        assert.equal(p.protocol, 'raw');
        assert.equal(p.port, 9);
        assert.equal(p.makeAndModel, 'T'.repeat(240));
        assert.equal(p.manufacturer, 'Acme');
        assert.match(p.deviceKey, /^net:/);
        assert.match(r.stderr, /dnssd: ignored [3-9] malformed TXT entries/);
      } finally {
        await stopProc(pub);
      }
    });

    await t.test('dnssd: no avahi daemon reachable, one warning, other sources go on', async () => {
      const root = tmpdir('pmdisc-sysfs2-');
      const d = path.join(root, 'class/usbmisc/lp0/device');
      fs.mkdirSync(d, { recursive: true });
      fs.writeFileSync(path.join(d, 'ieee1284_id'), 'MFG:EPSON;MDL:TM-T88V;SN:A1;');
      const r = await discover(['--sources', 'dnssd,usb', '--sysfs-root', root],
        { env: { DBUS_SYSTEM_BUS_ADDRESS: `unix:path=${root}/no-bus` } });
      assert.equal(r.code, 0);
      assert.equal(r.json.length, 1);
      assert.equal(r.json[0].deviceKey, 'sn:epson:A1');
      const lines = r.stderr.split('\n').filter((l) => /dnssd/.test(l));
      assert.equal(lines.length, 1, r.stderr);
      assert.match(lines[0], /avahi daemon is not reachable .*DNS-SD skipped/);
    });

    await t.test('cups: queues of a private cupsd via libcups', async () => {
      const r = await discover(['--sources', 'cups'], { env: cupsEnv });
      assert.equal(r.code, 0, r.stderr);
      const k = byKey(r.json, `cups:${HOST}:${q}_kitchen`);
      assert.ok(k, r.stdout);
      assert.equal(k.name, `${q}_kitchen`);
      assert.equal(k.location, 'Kitchen');
      assert.equal(k.status, 'error');	// disabled (stopped) queue
      assert.equal(k.capabilities.cupsInfo, 'Kitchen tickets');
      assert.equal(k.uri, 'file:///dev/null');
      // The dnssd:// queue carries the printer's uuid; the ipp:// queue points
      // at the same host:port as... nothing else here, so it stays its own.
      const d = byKey(r.json, `uuid:${uuid}`);
      assert.ok(d, r.stdout);
      assert.deepEqual(d.sources, ['cups']);
      const i = r.json.find((x) => x.capabilities && x.capabilities.cupsQueue === `${q}_ipp`);
      assert.ok(i, r.stdout);
      assert.equal(i.address, '127.0.0.1');
      assert.equal(i.port, port);

      const no = await discover(['--sources', 'cups,ipp', '--ipp-uris', uri],
        { env: { CUPS_SERVER: path.join(cdir, 'absent.sock') } });
      assert.equal(no.code, 0);
      assert.match(no.stderr, /cups: cannot reach the CUPS server .*absent\.sock/);
      assert.ok(byKey(no.json, `uuid:${uuid}`), 'ipp still ran');
    });

    await t.test('merge: one printer seen by cups, dnssd and ipp is one entry', async () => {
      let r;
      await h.waitFor(async () => {
        r = await discover(['--sources', 'cups,dnssd,ipp', '--dnssd-browse-ms', '3000',
          '--ipp-uris', `ipp://localhost:${port}/ipp/print`], { env: cupsEnv });
        const p = r.json && byKey(r.json, `uuid:${uuid}`);
        return p && p.sources.includes('dnssd');
      }, { timeout: 20000, what: 'a pass where dnssd saw the printer' });
      assert.equal(r.code, 0, r.stderr);
      const same = r.json.filter((x) => x.uuid === uuid || x.name === name ||
        (x.port === port && x.address === '127.0.0.1') ||
        (x.capabilities && [`${q}_ipp`, `${q}_dnssd`].includes(x.capabilities.cupsQueue)));
      assert.equal(same.length, 1, JSON.stringify(same, null, 1));
      const p = same[0];
      assert.equal(p.deviceKey, `uuid:${uuid}`);
      assert.deepEqual([...p.sources].sort(), ['cups', 'dnssd', 'ipp']);
      assert.equal(p.name, name);		// ipp names it first
      assert.equal(p.status, 'online');
      assert.equal(p.makeAndModel, 'Acme K80');
      assert.ok(byKey(r.json, `cups:${HOST}:${q}_kitchen`), 'other queues stay apart');
      // The table form lists it once as well.
      const tbl = spawnSync(AGENT, ['discover', '--sources', 'cups,ipp', '--ipp-uris', uri],
        { env: { ...process.env, ...cupsEnv }, encoding: 'utf8' });
      assert.equal(tbl.status, 0);
      assert.match(tbl.stdout, /^NAME +STATUS +ENDPOINT +MAKE AND MODEL +SOURCES +DEVICE KEY$/m);
      assert.equal(tbl.stdout.split('\n').filter((l) => l.includes(`uuid:${uuid}`)).length, 1);
    });
  } finally {
    for (const s of ['ipp', 'dnssd', 'kitchen']) spawnSync('lpadmin', ['-h', sock, '-x', `${q}_${s}`]);
    await stopProc(cupsd);
    await stopProc(big);
    await stopProc(ipp);
  }
});

test('discover: usage errors exit 2', async () => {
  let r = await discover(['--sources', 'cups,snmp']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /unknown discovery source 'snmp'/);
  r = await discover(['--timeout', '0']);
  assert.equal(r.code, 2);
  r = await discover(['--bogus']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /unknown argument '--bogus'/);
});
