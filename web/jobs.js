// jobs.js: the branch's recent print jobs with live status, and "Test print"
// as a real print job. The list is loaded with the printers and kept current
// by the job:* events (each carries the whole job).

import { api } from './api.js';
import { $, el, timeAgo, show } from './ui.js';

const RECENT = 20;
const STATUS = {
  queued: 'Queued', sent: 'Sent', printed: 'Printed', failed: 'Failed',
  cancelled: 'Cancelled', expired: 'Expired',
};
const BADGE = {
  queued: 'unknown', sent: 'unknown', printed: 'online', failed: 'error',
  cancelled: 'offline', expired: 'offline',
};

const jobs = new Map();
let loaded = false;

export function isJobEvent(name) {
  return typeof name === 'string' && name.startsWith('job:');
}

// The branch changed: forget the old list.
export function resetJobs() {
  jobs.clear();
  loaded = false;
}

export async function loadJobs(branchId) {
  const list = await api.jobs(branchId);
  jobs.clear();
  for (const j of list) jobs.set(j.id, j);
  loaded = true;
}

// A job:* event; true when it changed what is shown.
export function applyJobEvent(msg, branchId) {
  const j = msg.data && msg.data.job;
  if (!j || !j.id || (j.branchId && j.branchId !== branchId)) return false;
  const had = jobs.get(j.id);
  // Events arrive in order, but a snapshot may be newer than a buffered event.
  if (had && had.updatedAt && j.updatedAt && had.updatedAt > j.updatedAt) return false;
  jobs.set(j.id, j);
  return true;
}

// A small text page, sent as a text job: a receipt printer gets printable
// lines, an IPP or CUPS printer a text document.
export async function printTestPage(printer, label) {
  const text = `printmaster test print\n\nPrinter: ${label}\nTime: ${new Date().toISOString()}\n` +
    'From: the settings page\n\n\n';
  const content = btoa(String.fromCharCode(...new TextEncoder().encode(text)));
  const job = await api.createJob(printer.id, { title: 'printmaster test print', contentType: 'text', content });
  jobs.set(job.id, job);
  return job;
}

export function renderJobs(printerName) {
  const list = [...jobs.values()].sort((a, b) => String(b.createdAt).localeCompare(String(a.createdAt)))
    .slice(0, RECENT);
  $('jobs').replaceChildren(...list.map((j) => el('li', { class: 'job', 'data-job': j.id },
    el('div', { class: 'agent-head' },
      el('span', { class: 'job-title' }, j.title || 'Print job'),
      el('span', { class: `badge badge-${BADGE[j.status] || 'unknown'}` },
        el('span', { class: 'badge-dot', 'aria-hidden': 'true' }), STATUS[j.status] || j.status)),
    el('p', { class: 'sub' }, `${printerName(j.printerId)} · ${j.contentType}` +
      `${j.copies > 1 ? ` · ${j.copies} copies` : ''} · `, timeAgo(j.createdAt)),
    j.reason ? el('p', { class: 'agent-error' }, el('span', { class: 'sr-only' }, 'Reason: '), j.reason) : null)));
  show($('jobs-empty'), loaded && list.length === 0);
}
