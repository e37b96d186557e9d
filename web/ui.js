// ui.js: small DOM helpers shared by the page: element building (text only,
// never HTML strings, so nothing from the server is ever parsed as markup),
// relative times that tick, and the non-blocking notice area.

export const $ = (id) => document.getElementById(id);

// el('td', { class: 'x', 'data-label': 'Status' }, child, 'text', ...)
export function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') node.className = v;
    else if (k === 'text') node.textContent = v;
    else if (k.startsWith('on') && typeof v === 'function') node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

export function ago(iso, now = Date.now()) {
  const t = Date.parse(iso);
  if (!Number.isFinite(t)) return 'never';
  const s = Math.max(0, Math.round((now - t) / 1000));
  if (s < 60) return `${s} s ago`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ago`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} h ago`;
  return new Date(t).toLocaleDateString(undefined, { year: 'numeric', month: 'short', day: 'numeric' });
}

// A <time> that the ticker keeps current.
export function timeAgo(iso) {
  if (!iso) return el('span', { class: 'muted', text: 'never' });
  const d = new Date(iso);
  return el('time', { datetime: iso, 'data-ago': '', title: Number.isNaN(d.getTime()) ? '' : d.toLocaleString() },
    ago(iso));
}

export function startTicker() {
  setInterval(() => {
    const now = Date.now();
    for (const t of document.querySelectorAll('time[data-ago]')) {
      const s = ago(t.getAttribute('datetime'), now);
      if (t.textContent !== s) t.textContent = s;
    }
  }, 1000);
}

const NOTICE_MS = 7000;
const NOTICE_MAX = 5;

// kind: info | success | error. Non-blocking: stacks in a corner, read out by
// screen readers through the aria-live region, goes away by itself.
export function notify(text, kind = 'info') {
  const box = $('notices');
  const close = el('button', { class: 'notice-close', type: 'button', 'aria-label': 'Dismiss notice' }, '×');
  const n = el('div', { class: `notice notice-${kind}` }, el('span', { class: 'notice-text' }, text), close);
  const remove = () => { n.classList.add('notice-out'); setTimeout(() => n.remove(), 200); };
  close.addEventListener('click', remove);
  box.append(n);
  while (box.children.length > NOTICE_MAX) box.firstElementChild.remove();
  setTimeout(remove, kind === 'error' ? NOTICE_MS * 1.5 : NOTICE_MS);
  return n;
}

export function show(node, visible) {
  node.hidden = !visible;
}
