// live.js: the page's connection to the gateway (/ws on our own origin; the
// browser sends the HttpOnly session cookie with the handshake). It subscribes
// to one room, remembers the last event id it saw, and after any disconnect
// reconnects with capped exponential backoff and asks for `since` that id, so
// nothing that happened meanwhile is lost.

const PING_MS = 25000;     // keep proxies from closing an idle socket
const DEAD_MS = 65000;     // no frame at all for this long: the socket is dead
const BACKOFF_MIN_MS = 500;
const BACKOFF_MAX_MS = 15000;

export class Live {
  // handlers: onEvent(msg), onState(state, info), onSubscribed({ fresh }),
  // onError(msg), onUnauthorized() (closed with 4401: the credential was
  // refused or revoked). States: idle, connecting, live, reconnecting.
  constructor(handlers) {
    this.h = handlers;
    this.ws = null;
    this.rooms = [];
    this.lastId = null;   // highest event id applied; null until the first welcome
    this.fresh = true;    // no events seen in this session yet
    this.attempt = 0;
    this.timer = null;
    this.pingTimer = null;
    this.lastFrame = 0;
    this.stopped = true;
    this.welcomeRooms = [];
    this.onOnline = () => { if (!this.stopped && this.state === 'reconnecting') this.reconnectNow(); };
    window.addEventListener('online', this.onOnline);
    this.state = 'idle';
  }

  // A new session for these rooms: events from "now" on (the welcome's
  // lastEventId); the caller loads a snapshot once onSubscribed fires.
  start(rooms) {
    this.stop();
    this.rooms = rooms.slice();
    this.lastId = null;
    this.fresh = true;
    this.stopped = false;
    this.attempt = 0;
    this.connect();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    clearInterval(this.pingTimer);
    this.timer = null;
    if (this.ws) {
      const ws = this.ws;
      this.ws = null;
      ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
      try { ws.close(1000, 'bye'); } catch (e) { /* already closed */ }
    }
    this.setState('idle');
  }

  reconnectNow() {
    clearTimeout(this.timer);
    this.timer = null;
    if (this.ws) this.ws.close();
    else this.connect();
  }

  setState(state, info = {}) {
    this.state = state;
    if (this.h.onState) this.h.onState(state, info);
  }

  url() {
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    return `${proto}//${location.host}/ws`;
  }

  send(obj) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(obj));
  }

  connect() {
    if (this.stopped) return;
    this.setState(this.attempt === 0 ? 'connecting' : 'reconnecting', { attempt: this.attempt });
    let ws;
    try {
      ws = new WebSocket(this.url());
    } catch (e) {
      this.scheduleReconnect();
      return;
    }
    this.ws = ws;
    ws.onopen = () => {
      this.lastFrame = Date.now();
      clearInterval(this.pingTimer);
      this.pingTimer = setInterval(() => this.keepAlive(), PING_MS);
    };
    ws.onmessage = (ev) => this.onMessage(ev.data);
    ws.onerror = () => { /* onclose follows and decides */ };
    ws.onclose = (ev) => {
      clearInterval(this.pingTimer);
      if (this.ws === ws) this.ws = null;
      if (ev.code === 4401 && this.h.onUnauthorized) this.h.onUnauthorized();
      this.scheduleReconnect();
    };
  }

  keepAlive() {
    if (Date.now() - this.lastFrame > DEAD_MS) {
      if (this.ws) this.ws.close();
      return;
    }
    this.send({ type: 'ping' });
  }

  scheduleReconnect() {
    if (this.stopped) return;
    const base = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** this.attempt);
    const delay = Math.round(base * (0.75 + Math.random() * 0.5));
    this.attempt++;
    this.setState('reconnecting', { attempt: this.attempt, retryAt: Date.now() + delay });
    clearTimeout(this.timer);
    this.timer = setTimeout(() => { this.timer = null; this.connect(); }, delay);
  }

  onMessage(text) {
    let msg;
    this.lastFrame = Date.now();
    if (typeof text !== 'string' || text.length > 4 * 1024 * 1024) return;
    try { msg = JSON.parse(text); } catch (e) { return; }
    if (!msg || typeof msg !== 'object') return;
    switch (msg.type) {
      case 'welcome':
        this.welcomeRooms = Array.isArray(msg.rooms) ? msg.rooms : [];
        // A new session starts at the server's head; a reconnect keeps its
        // position so the subscribe below replays what it missed.
        if (this.lastId === null) this.lastId = Number(msg.lastEventId) || 0;
        this.send({ type: 'subscribe', rooms: this.rooms, since: this.lastId });
        break;
      case 'subscribed': {
        const fresh = this.fresh;
        this.fresh = false;
        this.attempt = 0;
        this.setState('live');
        if (this.h.onSubscribed) this.h.onSubscribed({ fresh });
        break;
      }
      case 'event': {
        const id = Number(msg.id);
        if (!Number.isFinite(id)) return;
        if (this.lastId !== null && id <= this.lastId) return; // already applied
        this.lastId = id;
        this.h.onEvent(msg);
        break;
      }
      case 'error':
        // A room we may not narrow to: stay on the rooms the credential got.
        if (msg.code === 'forbidden' && this.welcomeRooms.length &&
            this.rooms.join() !== this.welcomeRooms.join()) {
          this.rooms = this.welcomeRooms.slice();
          this.send({ type: 'subscribe', rooms: this.rooms, since: this.lastId });
        }
        if (this.h.onError) this.h.onError(msg);
        break;
      default:
        break; // pong and anything newer
    }
  }
}
