// api.js: the REST calls the page makes, all same-origin with the HttpOnly
// session cookie. Every failure becomes an ApiError carrying the HTTP status
// and the server's error code, so callers can word a clear notice.

export class ApiError extends Error {
  constructor(status, code, message, details, retryAfter) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
    this.retryAfter = retryAfter;
  }
}

const PAGE_LIMIT = 500;
const MAX_PAGES = 40; // 20,000 printers per branch is far past any real shop

async function request(method, path, body) {
  const opts = { method, credentials: 'same-origin', headers: { Accept: 'application/json' } };
  if (body !== undefined) {
    opts.headers['Content-Type'] = 'application/json';
    opts.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, opts);
  } catch (e) {
    throw new ApiError(0, 'network', 'The server cannot be reached.');
  }
  if (res.status === 204) return null;
  let json = null;
  try { json = await res.json(); } catch (e) { json = null; }
  if (!res.ok) {
    const err = (json && json.error) || {};
    const ra = Number(res.headers.get('Retry-After'));
    throw new ApiError(res.status, err.code || `http_${res.status}`,
      err.message || res.statusText || 'request failed', err.details,
      Number.isFinite(ra) && ra > 0 ? ra : undefined);
  }
  return json;
}

const enc = encodeURIComponent;

export const api = {
  login: (email, password) => request('POST', '/api/v1/auth/login', { email, password }),
  logout: () => request('POST', '/api/v1/auth/logout'),
  me: () => request('GET', '/api/v1/auth/me'),
  branches: async () => (await request('GET', '/api/v1/branches')).branches || [],

  // Every printer of a branch, following the `next` cursor.
  async printers(branchId) {
    const out = [];
    let after = null;
    for (let i = 0; i < MAX_PAGES; i++) {
      let q = `/api/v1/printing/printers?branchId=${enc(branchId)}&limit=${PAGE_LIMIT}`;
      if (after) q += `&after=${enc(after)}`;
      const page = await request('GET', q);
      out.push(...(page.printers || []));
      if (!page.next) break;
      after = page.next;
    }
    return out;
  },

  agents: async () => (await request('GET', '/api/v1/printing/agents')).agents || [],
  syncStats: (branchId) => request('GET', `/api/v1/printing/sync/stats?branchId=${enc(branchId)}`),
  updatePrinter: (id, changes) => request('PATCH', `/api/v1/printing/printers/${enc(id)}`, changes),
  deletePrinter: (id) => request('DELETE', `/api/v1/printing/printers/${enc(id)}`),
  createJob: (printerId, job) => request('POST', `/api/v1/printing/printers/${enc(printerId)}/jobs`, job),
  jobs: async (branchId) => (await request('GET',
    `/api/v1/printing/jobs?branchId=${enc(branchId)}&limit=${PAGE_LIMIT}`)).jobs || [],
  scan: (branchId) => request('POST', '/api/v1/printing/scan', { branchId }),
};

// A sentence for a failed action, for the notice area.
export function describeError(e, action) {
  if (!(e instanceof ApiError)) return `${action} failed.`;
  switch (e.status) {
    case 0: return `${action} failed: the server cannot be reached.`;
    case 401: return 'Your session has ended. Please sign in again.';
    case 403: return `${action} is not allowed for your account.`;
    case 404: return `${action} failed: it no longer exists.`;
    case 409:
      if (e.code === 'no_agent') return `${action}: no agent of this branch is connected right now.`;
      return `${action} failed: ${e.message}`;
    case 429: return `${action}: too many requests, try again${e.retryAfter ? ` in ${e.retryAfter} s` : ' shortly'}.`;
    case 503: return `${action} failed: the database is unavailable. Nothing was changed; try again.`;
    default: return `${action} failed: ${e.message}`;
  }
}
