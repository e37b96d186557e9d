const h = require('./lib/harness'); const ak = require('./lib/authkit');
(async () => {
  const db = await h.createDatabase();
  const s = await h.startServer({ db, env: { PRINTMASTER_LOG_LEVEL: 'debug' } });
  const t = await ak.tenant(db, s, { company: 'A', branches: ['X'] });
  const r = await fetch(`${s.url}/api/v1/printing/printers/bulk`, { method: 'POST', headers: { 'Content-Type': 'application/json', ...t.agent(0) }, body: JSON.stringify({ printers: [{ name: 'P1', address: '10.0.0.1', port: 9100 }] }) });
  console.log(r.status, await r.text());
  const r2 = await fetch(`${s.url}/api/v1/printing/printers?limit=5`, { headers: t.admin || {} });
  console.log(r2.status, (await r2.text()).slice(0, 300));
  console.log(s.log().split('\n').filter(l => /DB|bulk|API/.test(l)).slice(-20).join('\n'));
  await s.stop(); process.exit(0);
})().catch(e => { console.error(e); process.exit(1); });
