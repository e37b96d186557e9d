// app.js: the /settings/printing page. Signs in, picks a branch, shows its
// printers and agents, keeps them live over the gateway (live.js) and offers
// admins the printer actions. State lives here; api.js talks REST, ui.js
// builds DOM from text only.

import { api, ApiError, describeError } from './api.js';
import { Live } from './live.js';
import { applyJobEvent, isJobEvent, loadJobs, printTestPage, renderJobs, resetJobs } from './jobs.js';
import { $, el, timeAgo, startTicker, notify, show } from './ui.js';

const STATUS_ORDER = { error: 0, online: 1, unknown: 2, offline: 3 };
const AGENT_OFFLINE = 'agent-offline'; // the server's reason when every agent seeing it went silent
const STATUS_LABEL = { online: 'Online', offline: 'Offline', error: 'Error', unknown: 'Unknown' };
const ROLE_LABEL = { receipt: 'Receipt', kitchen: 'Kitchen', bar: 'Bar', label: 'Label', other: 'Other' };
const CONN_LABEL = { network: 'Network', usb: 'USB', cups: 'CUPS queue', bluetooth: 'Bluetooth', serial: 'Serial' };
const PRINTER_EVENTS = new Set(['printer:discovered', 'printer:updated', 'printer:status', 'printer:lost']);
const SNAPSHOT_FALLBACK_MS = 1500; // load without the gateway if it is slow to answer

const state = {
  user: null,
  branches: [],
  branchId: null,
  printers: new Map(),
  agents: new Map(),
  agentsError: false,
  alert: null,        // the branch's printer:sync:alert while active: { reason, successRate, threshold }
  loaded: false,
  filterText: '',
  filterStatus: '',
  buffering: false,   // a snapshot is loading: events wait in `buffer`
  buffer: [],
  gen: 0,             // snapshot generation; a stale answer is dropped
  flash: new Set(),   // rows to highlight at the next render
  rows: new Map(),    // printer id -> { tr, sig }
  renderQueued: false,
  fallbackTimer: null,
  editing: null,
  deleting: null,
};

const live = new Live({
  onEvent: onLiveEvent,
  onState: onLiveState,
  onSubscribed: ({ fresh }) => {
    if (fresh) loadSnapshot();
    else refreshAgents(); // replayed events cover printers; presence is cheap to reload
  },
  onError: (msg) => {
    if (msg.code !== 'forbidden') notify(`Live updates: ${msg.message || msg.code}`, 'error');
  },
  // The server closes a revoked session's socket with 4401: ask whether the
  // session still holds (REST is the judge) rather than retrying blindly.
  onUnauthorized: () => {
    api.me().catch((e) => { if (e.status === 401) showLogin('Your session has ended. Please sign in again.'); });
  },
});

const isAdmin = () => state.user && state.user.role === 'admin';
const printerLabel = (p) => p.displayName || p.name || 'Unnamed printer';

// ---- views ----------------------------------------------------------------

function showView(name) {
  show($('loading-view'), name === 'loading');
  show($('login-view'), name === 'login');
  show($('app-view'), name === 'app');
  const signedIn = name === 'app';
  show($('who'), signedIn);
  show($('logout'), signedIn);
  if (!signedIn) show($('conn'), false);
}

function showLogin(message) {
  live.stop();
  state.user = null;
  state.gen++;
  state.printers.clear();
  state.agents.clear();
  state.rows.clear();
  $('printer-rows').replaceChildren();
  showView('login');
  const err = $('login-error');
  err.textContent = message || '';
  show(err, Boolean(message));
  $('login-email').focus();
}

async function boot() {
  startTicker();
  bindControls();
  let me;
  try {
    me = await api.me();
  } catch (e) {
    showLogin(e instanceof ApiError && e.status !== 401 ? describeError(e, 'Loading your session') : '');
    return;
  }
  if (!me || me.kind !== 'user' || !me.user) {
    showLogin('This page is for people; sign in with your email.');
    return;
  }
  await signedIn(me.user);
}

async function signedIn(user) {
  state.user = user;
  $('who-email').textContent = user.email;
  $('who-role').textContent = user.role === 'admin' ? 'Admin' : 'Viewer';
  show($('scan'), isAdmin());
  show($('actions-head'), isAdmin());
  $('printers').classList.toggle('has-actions', isAdmin());
  showView('app');
  try {
    state.branches = await api.branches();
  } catch (e) {
    if (e.status === 401) { showLogin(); return; }
    state.branches = [];
    notify(describeError(e, 'Loading branches'), 'error');
  }
  const select = $('branch');
  select.replaceChildren(...state.branches.map((b) => el('option', { value: b.id }, b.name)));
  select.disabled = state.branches.length < 2;
  const wanted = new URLSearchParams(location.search).get('branch');
  const pick = state.branches.find((b) => b.id === wanted) ||
    state.branches.find((b) => b.id === user.branchId) || state.branches[0];
  if (!pick) {
    $('summary').textContent = 'No branch is available to your account.';
    renderPrinters();
    return;
  }
  select.value = pick.id;
  selectBranch(pick.id);
}

function selectBranch(id) {
  state.branchId = id;
  const url = new URL(location.href);
  url.searchParams.set('branch', id);
  history.replaceState(null, '', url);
  state.gen++;
  state.loaded = false;
  state.printers.clear();
  state.agents.clear();
  state.rows.clear();
  $('printer-rows').replaceChildren();
  render();
  // A fresh live session first, then the snapshot (onSubscribed), so no event
  // between the two is lost; without a gateway answer, load anyway.
  live.start([`branch:${id}`]);
  clearTimeout(state.fallbackTimer);
  state.fallbackTimer = setTimeout(() => { if (!state.loaded && !state.buffering) loadSnapshot(); },
    SNAPSHOT_FALLBACK_MS);
}

async function loadSnapshot() {
  const gen = ++state.gen;
  const branchId = state.branchId;
  state.buffering = true;
  state.buffer = [];
  resetJobs();
  const [printers, agents, stats] = await Promise.allSettled([api.printers(branchId), api.agents(),
    api.syncStats(branchId), loadJobs(branchId)]);
  if (gen !== state.gen) return;
  // The branch's alert as the server has it now; events keep it current.
  if (stats.status === 'fulfilled') {
    const a = (stats.value.alerts || []).find((x) => x.branchId === branchId);
    state.alert = a ? { reason: a.reason, successRate: stats.value.successRate, threshold: null } : null;
  }
  if (printers.status === 'fulfilled') {
    state.printers = new Map(printers.value.map((p) => [p.id, p]));
    state.loaded = true;
  } else if (printers.reason && printers.reason.status === 401) {
    showLogin('Your session has ended. Please sign in again.');
    return;
  } else {
    notify(describeError(printers.reason, 'Loading printers'), 'error');
  }
  setAgents(agents);
  state.buffering = false;
  const buffered = state.buffer;
  state.buffer = [];
  for (const msg of buffered) applyEvent(msg);
  render();
}

function setAgents(result) {
  if (result.status === 'fulfilled') {
    state.agentsError = false;
    state.agents = new Map(result.value
      .filter((a) => !a.branchId || a.branchId === state.branchId)
      .map((a) => [a.id, a]));
  } else {
    state.agentsError = true;
  }
}

async function refreshAgents() {
  const gen = state.gen;
  const [agents] = await Promise.allSettled([api.agents()]);
  if (gen !== state.gen) return;
  setAgents(agents);
  scheduleRender();
}

let agentsRefreshTimer = null;
function refreshAgentsSoon() {
  if (agentsRefreshTimer) return;
  agentsRefreshTimer = setTimeout(() => { agentsRefreshTimer = null; refreshAgents(); }, 300);
}

// ---- live events ------------------------------------------------------------

function onLiveState(s, info) {
  const conn = $('conn');
  show(conn, s !== 'idle');
  conn.dataset.state = s;
  const text = { connecting: 'Connecting…', live: 'Live', reconnecting: 'Reconnecting…' }[s] || '';
  $('conn-text').textContent = text;
  conn.title = s === 'live' ? 'Updates arrive as they happen' :
    s === 'reconnecting' ? 'Connection lost; changes made meanwhile will be caught up' : '';
  // A socket that keeps failing may mean the session ended: ask once in a while.
  if (s === 'reconnecting' && info.attempt >= 3 && info.attempt % 3 === 0) {
    api.me().catch((e) => { if (e.status === 401) showLogin('Your session has ended. Please sign in again.'); });
  }
}

function onLiveEvent(msg) {
  if (msg.branchId && msg.branchId !== state.branchId) return;
  if (state.buffering) {
    state.buffer.push(msg);
    return;
  }
  applyEvent(msg);
  scheduleRender();
}

function applyEvent(msg) {
  const d = msg.data || {};
  if (isJobEvent(msg.event)) {
    applyJobEvent(msg, state.branchId);
    return;
  }
  if (PRINTER_EVENTS.has(msg.event)) {
    const p = d.printer;
    if (!p || !p.id || (p.branchId && p.branchId !== state.branchId)) return;
    state.printers.set(p.id, p);
    state.flash.add(p.id);
    return;
  }
  switch (msg.event) {
    case 'printer:removed':
      state.printers.delete(d.id);
      break;
    case 'printer:refresh-required':
      loadSnapshot();
      break;
    case 'printer:sync:batch-completed':
      notifyBatch(d);
      touchAgent(d.agentId, msg.ts);
      break;
    case 'printer:sync:failed':
      notifySyncFailed(d);
      break;
    case 'printer:sync:alert':
      state.alert = d.active ? { reason: d.reason, successRate: d.successRate, threshold: d.threshold } : null;
      break;
    case 'printer:sync:stats': {
      const a = state.agents.get(d.agentId);
      if (a) {
        a.stats = d.stats || {};
        a.lastSeen = msg.ts || a.lastSeen;
      } else refreshAgentsSoon();
      break;
    }
    case 'agent:online':
    case 'agent:offline': {
      const a = state.agents.get(d.agentId);
      if (a) {
        a.online = msg.event === 'agent:online';
        a.offlineSince = a.online ? null : (a.offlineSince || msg.ts || new Date().toISOString());
        if (d.hostname) a.hostname = d.hostname;
        if (d.version) a.version = d.version;
        if (d.name) a.name = d.name;
        a.lastSeen = msg.ts || a.lastSeen;
      } else refreshAgentsSoon();
      break;
    }
    default:
      break;
  }
}

function touchAgent(id, ts) {
  const a = state.agents.get(id);
  if (a && ts) a.lastSeen = ts;
}

function agentName(id) {
  const a = state.agents.get(id);
  return a ? a.name : 'an agent';
}

// A batch with rejected items also sends printer:sync:failed, which names
// them; that one notice is enough.
function notifyBatch(d) {
  const s = d.summary || {};
  if (s.failed) return;
  const parts = [];
  if (s.new) parts.push(`${s.new} new`);
  if (s.updated) parts.push(`${s.updated} updated`);
  // A heartbeat that changed nothing is no news.
  if (!parts.length) return;
  notify(`Sync from ${agentName(d.agentId)}: ${parts.join(', ')}.`, 'success');
}

function failureReason(err) {
  if (typeof err === 'string') return err;
  if (!err || typeof err !== 'object') return '';
  if (err.message) return err.message;
  const fields = err.fields && typeof err.fields === 'object' ? Object.entries(err.fields) : [];
  return fields.length ? `${fields[0][0]} ${fields[0][1]}` : (err.code || '');
}

function notifySyncFailed(d) {
  const failures = Array.isArray(d.failures) ? d.failures : [];
  const first = failures[0];
  let text = `Sync from ${agentName(d.agentId)} failed`;
  if (failures.length) text += ` for ${failures.length} printer${failures.length === 1 ? '' : 's'}`;
  if (first) {
    const why = failureReason(first.error);
    text += `: ${first.name || `item ${first.index}`}${why ? ` (${why})` : ''}`;
    if (failures.length > 1) text += ` and ${failures.length - 1} more`;
  }
  notify(`${text}.`, 'error');
}

// ---- rendering ----------------------------------------------------------------

function scheduleRender() {
  if (state.renderQueued) return;
  state.renderQueued = true;
  setTimeout(() => { state.renderQueued = false; render(); }, 16);
}

function render() {
  renderPrinters();
  renderAgents();
  renderJobs((id) => (state.printers.has(id) ? printerLabel(state.printers.get(id)) : 'A removed printer'));
  renderBanner();
  renderSummary();
}

function sortedPrinters() {
  const q = state.filterText.trim().toLowerCase();
  const list = [...state.printers.values()].filter((p) => {
    if (state.filterStatus && p.status !== state.filterStatus) return false;
    if (!q) return true;
    return [p.displayName, p.name, p.address, p.makeAndModel, p.manufacturer, p.model, p.location,
      p.role, p.uri].some((v) => typeof v === 'string' && v.toLowerCase().includes(q));
  });
  return list.sort((a, b) =>
    (a.enabled === false) - (b.enabled === false) ||
    statusRank(a) - statusRank(b) ||
    printerLabel(a).localeCompare(printerLabel(b), undefined, { sensitivity: 'base', numeric: true }) ||
    String(a.id).localeCompare(String(b.id)));
}

// A printer no live agent can vouch for is a problem: it sorts with the errors.
function agentOffline(p) {
  return p.status === 'unknown' && Array.isArray(p.stateReasons) && p.stateReasons.includes(AGENT_OFFLINE);
}

function statusRank(p) {
  return agentOffline(p) ? 0 : (STATUS_ORDER[p.status] ?? 9);
}

function renderPrinters() {
  const body = $('printer-rows');
  const list = sortedPrinters();
  const admin = isAdmin();
  const keep = new Set();
  let prev = null;
  for (const p of list) {
    const sig = JSON.stringify(p) + admin;
    let row = state.rows.get(p.id);
    if (!row || row.sig !== sig) {
      const tr = printerRow(p, admin);
      if (row) row.tr.replaceWith(tr);
      row = { tr, sig };
      state.rows.set(p.id, row);
    }
    keep.add(p.id);
    // Move only when out of place, so focus inside unchanged rows survives.
    const want = prev ? prev.nextSibling : body.firstChild;
    if (want !== row.tr) body.insertBefore(row.tr, want);
    prev = row.tr;
    if (state.flash.has(p.id)) {
      row.tr.classList.remove('flash');
      void row.tr.offsetWidth; // restart the animation
      row.tr.classList.add('flash');
    }
  }
  state.flash.clear();
  for (const [id, row] of state.rows) {
    if (!keep.has(id)) {
      row.tr.remove();
      if (!state.printers.has(id)) state.rows.delete(id);
    }
  }
  const empty = $('printers-empty');
  if (list.length) show(empty, false);
  else {
    empty.textContent = !state.loaded ? 'Loading printers…' :
      state.printers.size ? 'No printer matches the filter.' :
        'No printers in this branch yet. They appear here as soon as an agent finds them.';
    show(empty, true);
  }
}

function statusBadge(status, dark) {
  const s = STATUS_LABEL[status] ? status : 'unknown';
  return el('span', { class: `badge badge-${s}${dark ? ' badge-dark' : ''}` }, el('span', { class: 'badge-dot', 'aria-hidden': 'true' }),
    dark ? `${STATUS_LABEL[s]} · agent offline` : STATUS_LABEL[s]);
}

function sourceInfo(src) {
  const names = new Set();
  const addAll = (arr) => { if (Array.isArray(arr)) for (const s of arr) if (typeof s === 'string') names.add(s); };
  let agents = 0;
  if (Array.isArray(src)) addAll(src);
  else if (src && typeof src === 'object') {
    addAll(src.methods);
    addAll(src.sources);
    addAll(src.discovery);
    if (src.agents && typeof src.agents === 'object') {
      const list = Object.values(src.agents);
      agents = list.length;
      for (const a of list) if (a && typeof a === 'object') { addAll(a.sources); addAll(a.methods); }
    }
  }
  return { names: [...names].sort(), agents };
}

function cellData(label, ...children) {
  return el('td', { 'data-label': label }, ...children);
}

function printerRow(p, admin) {
  const name = printerLabel(p);
  const dark = agentOffline(p);
  const reasons = Array.isArray(p.stateReasons) ? p.stateReasons.filter((r) => r && r !== 'none' && r !== AGENT_OFFLINE)
    .map((r) => String(r).replace(/-(error|warning|report)$/, '').replace(/-/g, ' ')) : [];
  const addr = p.address ? `${p.address}${p.port ? ':' + p.port : ''}` : (p.uri || '');
  // "USB · USB" says nothing twice: name the protocol only when it adds something.
  const proto = p.protocol && p.protocol !== p.connectionType ? p.protocol.toUpperCase() : null;
  const conn = [CONN_LABEL[p.connectionType] || p.connectionType, proto].filter(Boolean).join(' · ');
  const make = p.makeAndModel || [p.manufacturer, p.model].filter(Boolean).join(' ');
  const src = sourceInfo(p.sources);

  const tr = el('tr', { 'data-id': p.id, class: p.enabled === false ? 'is-disabled' : null },
    el('th', { scope: 'row', class: 'cell-name', 'data-label': 'Printer' },
      el('span', { class: 'p-name' }, name),
      p.displayName && p.displayName !== p.name ? el('span', { class: 'sub' }, p.name) : null,
      p.enabled === false ? el('span', { class: 'chip chip-muted' }, 'Disabled') : null),
    cellData('Role', p.role ? el('span', { class: `chip chip-role role-${p.role}` }, ROLE_LABEL[p.role] || p.role)
      : el('span', { class: 'muted' }, '—')),
    cellData('Status', statusBadge(p.status, dark),
      dark ? el('span', { class: 'sub since' }, 'since ', timeAgo(p.updatedAt)) : null,
      reasons.length ? el('span', { class: 'sub reasons' }, reasons.join(', ')) : null),
    cellData('Connection', conn ? el('span', {}, conn) : null,
      addr ? el('span', { class: conn ? 'sub mono' : 'mono' }, addr) : null,
      !conn && !addr ? el('span', { class: 'muted' }, '—') : null),
    cellData('Make and model', make || el('span', { class: 'muted' }, '—')),
    cellData('Sources', src.names.length || src.agents > 1 ? el('span', { class: 'sources' },
      src.names.map((s) => el('span', { class: 'chip chip-src' }, s)),
      src.agents > 1 ? el('span', { class: 'sub' }, `${src.agents} agents`) : null)
      : el('span', { class: 'muted' }, '—')),
    cellData('Last seen', timeAgo(p.lastSeen)));
  if (admin) {
    tr.append(el('td', { class: 'cell-actions', 'data-label': 'Actions' },
      el('div', { class: 'actions' },
        el('button', { class: 'btn btn-small', type: 'button', 'data-action': 'edit', 'aria-label': `Edit ${name}` }, 'Edit'),
        el('button', { class: 'btn btn-small', type: 'button', 'data-action': 'test-print', 'aria-label': `Test print on ${name}` }, 'Test print'),
        el('button', { class: 'btn btn-small btn-quiet-danger', type: 'button', 'data-action': 'delete', 'aria-label': `Delete ${name}` }, 'Delete'))));
  }
  return tr;
}

const ms = (v) => (Number.isFinite(Number(v)) && v !== null && v !== undefined ? `${Math.round(v)} ms` : '—');

function statItem(label, value, cls) {
  return el('div', { class: `stat ${cls || ''}` }, el('dt', {}, label), el('dd', {}, value));
}

function renderAgents() {
  const list = [...state.agents.values()].sort((a, b) =>
    (b.online === true) - (a.online === true) || String(a.name).localeCompare(String(b.name)));
  $('agents').replaceChildren(...list.map((a) => {
    const s = a.stats || {};
    const num = (v) => (Number.isFinite(Number(v)) && v !== null && v !== undefined ? String(v) : '—');
    const hasStats = Object.keys(s).length > 0;
    return el('li', { class: 'agent', 'data-agent': a.id },
      el('div', { class: 'agent-head' },
        el('span', { class: 'agent-name' }, a.name || 'Agent'),
        el('span', { class: `badge ${a.online ? 'badge-online' : 'badge-offline'}` },
          el('span', { class: 'badge-dot', 'aria-hidden': 'true' }), a.online ? 'Online' : 'Offline')),
      el('p', { class: 'sub' }, [a.hostname, a.version ? `v${a.version}` : null].filter(Boolean).join(' · ') || 'Hostname not reported yet'),
      el('p', { class: 'sub' }, 'Last seen ', timeAgo(a.lastSeen)),
      hasStats ? el('dl', { class: 'stats' },
        statItem('Queue', num(s.queueSize)),
        statItem('Synced', num(s.synced)),
        statItem('Failed', num(s.failed), Number(s.failed) > 0 ? 'stat-bad' : ''),
        statItem('Retries', num(s.retries)),
        statItem('Batches', num(s.batches)),
        statItem('Avg', ms(s.avgResponseMs)),
        statItem('p95', ms(s.p95ResponseMs)),
        statItem('Rate', Number.isFinite(Number(s.processingRate)) && s.processingRate !== null ? `${s.processingRate}/min` : '—'),
        statItem('Success', Number.isFinite(Number(s.successRate)) && s.successRate !== null ? `${s.successRate}%` : '—'),
        statItem('Last 5 min', s.succeededRecent === undefined ? '—' : `${num(s.succeededRecent)} ok · ${num(s.failedRecent)} not`,
          Number(s.failedRecent) > 0 ? 'stat-bad' : ''),
        statItem('Active', num(s.activeBatches)))
        : el('p', { class: 'sub muted' }, 'No sync statistics yet.'),
      s.lastError ? el('p', { class: 'agent-error' }, el('span', { class: 'sr-only' }, 'Last error: '), String(s.lastError)) : null);
  }));
  const empty = $('agents-empty');
  empty.textContent = state.agentsError ? 'The agent list could not be loaded.' :
    'No agent is enrolled for this branch yet.';
  show(empty, state.loaded && state.agents.size === 0);
}

// While an agent of the branch is offline, say so above everything: the
// printers only it sees cannot be vouched for.
function renderBanner() {
  const dark = [...state.agents.values()].filter((a) => a.offlineSince)
    .sort((a, b) => String(a.offlineSince).localeCompare(String(b.offlineSince)));
  const banner = $('branch-banner');
  const rate = state.alert && state.alert.reason === 'success-rate' ? state.alert : null;
  show($('alert-banner'), Boolean(rate));
  if (rate) {
    $('alert-banner').replaceChildren(el('strong', {}, 'Sync alert: '),
      `only ${rate.successRate ?? '—'}% of the printers sent in the last 15 minutes were accepted` +
      (rate.threshold ? ` (the alert is under ${rate.threshold}%)` : '') + '. The sync notices and the agents’ last errors say why.');
  }
  if (!dark.length) {
    show(banner, false);
    return;
  }
  const names = dark.map((a) => a.name || 'Agent');
  const one = dark.length === 1;
  const unknown = [...state.printers.values()].filter(agentOffline).length;
  banner.replaceChildren(
    el('strong', {}, one ? `Agent ${names[0]} is offline` : `${dark.length} agents are offline (${names.join(', ')})`),
    ' since ', timeAgo(dark[0].offlineSince), '. ',
    unknown ? `${unknown} printer${unknown === 1 ? '' : 's'} only ${one ? 'it sees' : 'they see'} ${unknown === 1 ? 'shows' : 'show'} “Unknown · agent offline” until ${one ? 'it reports' : 'they report'} again.`
      : 'Printers other agents see are still live.');
  show(banner, true);
}

function renderSummary() {
  const b = state.branches.find((x) => x.id === state.branchId);
  if (!b) return;
  const ps = [...state.printers.values()];
  const online = ps.filter((p) => p.status === 'online').length;
  const agentsOnline = [...state.agents.values()].filter((a) => a.online).length;
  const parts = [`${ps.length} printer${ps.length === 1 ? '' : 's'}`, `${online} online`];
  if (state.agents.size) parts.push(`${agentsOnline} of ${state.agents.size} agent${state.agents.size === 1 ? '' : 's'} connected`);
  $('summary').textContent = state.loaded ? `${b.name} · ${parts.join(' · ')}` : b.name;
}

// ---- actions ------------------------------------------------------------------

function bindControls() {
  $('login-form').addEventListener('submit', onLogin);
  $('logout').addEventListener('click', onLogout);
  $('branch').addEventListener('change', (e) => selectBranch(e.target.value));
  $('filter-text').addEventListener('input', (e) => { state.filterText = e.target.value; renderPrinters(); });
  $('filter-status').addEventListener('change', (e) => { state.filterStatus = e.target.value; renderPrinters(); });
  $('scan').addEventListener('click', onScan);
  $('printer-rows').addEventListener('click', onRowAction);
  $('edit-form').addEventListener('submit', onEditSave);
  $('edit-cancel').addEventListener('click', () => $('edit-dialog').close());
  $('delete-form').addEventListener('submit', onDeleteConfirm);
  $('delete-cancel').addEventListener('click', () => $('delete-dialog').close());
  for (const id of ['edit-dialog', 'delete-dialog']) {
    $(id).addEventListener('close', () => {
      const back = state.returnFocus;
      state.returnFocus = null;
      if (back && back.isConnected) back.focus();
    });
  }
}

async function onLogin(e) {
  e.preventDefault();
  const email = $('login-email').value.trim();
  const password = $('login-password').value;
  const err = $('login-error');
  if (!email || !password) {
    err.textContent = 'Enter your email and password.';
    show(err, true);
    return;
  }
  const btn = $('login-submit');
  btn.disabled = true;
  try {
    const res = await api.login(email, password);
    $('login-password').value = '';
    show(err, false);
    await signedIn(res.user);
  } catch (ex) {
    err.textContent = ex.status === 401 ? 'Email or password is incorrect.' :
      ex.status === 429 ? `Too many attempts. Try again in ${ex.retryAfter || 60} seconds.` :
        describeError(ex, 'Signing in');
    show(err, true);
  } finally {
    btn.disabled = false;
  }
}

async function onLogout() {
  try { await api.logout(); } catch (e) { /* the cookie is cleared or already invalid */ }
  const url = new URL(location.href);
  url.searchParams.delete('branch');
  history.replaceState(null, '', url);
  showLogin();
}

async function withBusy(button, fn) {
  if (button) button.disabled = true;
  try { return await fn(); } finally { if (button) button.disabled = false; }
}

function failed(e, action) {
  if (e instanceof ApiError && e.status === 401) { showLogin('Your session has ended. Please sign in again.'); return; }
  notify(describeError(e, action), 'error');
}

async function onScan(e) {
  await withBusy(e.currentTarget, async () => {
    try {
      const r = await api.scan(state.branchId);
      const n = r && Number(r.agents);
      notify(`Scan requested from ${n || 'the'} agent${n === 1 ? '' : 's'}; new printers will appear here.`, 'info');
    } catch (ex) { failed(ex, 'Scan now'); }
  });
}

function onRowAction(e) {
  const btn = e.target.closest('button[data-action]');
  if (!btn) return;
  const tr = btn.closest('tr[data-id]');
  const p = tr && state.printers.get(tr.dataset.id);
  if (!p) return;
  state.returnFocus = btn;
  if (btn.dataset.action === 'edit') openEdit(p);
  else if (btn.dataset.action === 'delete') openDelete(p);
  else if (btn.dataset.action === 'test-print') testPrint(p, btn);
}

// A failed dialog action: an ended session signs out; anything else shows
// in the dialog, which stays open to retry or cancel.
function dialogError(name, ex, text) {
  if (ex.status === 401) {
    $(`${name}-dialog`).close();
    failed(ex);
    return;
  }
  const err = $(`${name}-error`);
  err.textContent = text;
  show(err, true);
}

function openEdit(p) {
  state.editing = p.id;
  $('edit-sub').textContent = `Discovered as “${p.name}”`;
  $('edit-name').value = p.displayName || '';
  $('edit-name').placeholder = p.name || '';
  $('edit-role').value = p.role || '';
  $('edit-enabled').checked = p.enabled !== false;
  show($('edit-error'), false);
  $('edit-dialog').showModal();
  $('edit-name').focus();
}

async function onEditSave(e) {
  e.preventDefault();
  const id = state.editing;
  const changes = {
    displayName: $('edit-name').value.trim() || null,
    role: $('edit-role').value || null,
    enabled: $('edit-enabled').checked,
  };
  await withBusy($('edit-save'), async () => {
    try {
      const p = await api.updatePrinter(id, changes);
      if (p && p.id) {
        state.printers.set(p.id, p);
        state.flash.add(p.id);
      }
      $('edit-dialog').close();
      render();
      notify(`Saved ${printerLabel(p || {})}.`, 'success');
    } catch (ex) {
      dialogError('edit', ex, ex.status === 422 && ex.details ?
        Object.values(ex.details).join(' ') : describeError(ex, 'Saving'));
    }
  });
}

function openDelete(p) {
  state.deleting = p.id;
  $('delete-text').textContent = `Delete “${printerLabel(p)}” from this branch?`;
  show($('delete-error'), false);
  $('delete-dialog').showModal();
  $('delete-cancel').focus();
}

async function onDeleteConfirm(e) {
  e.preventDefault();
  const id = state.deleting;
  const p = state.printers.get(id);
  await withBusy($('delete-confirm'), async () => {
    try {
      await api.deletePrinter(id);
      state.printers.delete(id);
      state.returnFocus = $('filter-text');
      $('delete-dialog').close();
      render();
      notify(`Deleted ${p ? printerLabel(p) : 'the printer'}.`, 'success');
    } catch (ex) {
      if (ex.status === 404) { // already gone
        state.printers.delete(id);
        $('delete-dialog').close();
        render();
        return;
      }
      dialogError('delete', ex, describeError(ex, 'Deleting'));
    }
  });
}

async function testPrint(p, btn) {
  await withBusy(btn, async () => {
    try {
      await printTestPage(p, printerLabel(p));
      notify(`Test page for ${printerLabel(p)} queued; its status is under Print jobs.`, 'info');
      scheduleRender();
    } catch (ex) { failed(ex, `Test print on ${printerLabel(p)}`); }
  });
}

boot();
