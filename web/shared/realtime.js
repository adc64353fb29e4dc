// Parley realtime client (protocol: docs/realtime.md). Self-contained: each app keeps its own copy.
//
// - one WebSocket, reconnected automatically with exponential backoff (+ jitter);
// - per-stream last `seq`: every (re)subscribe asks for `after=<last seq>`, and events at or below it are
//   dropped, so a stream is never processed twice;
// - send_message frames carry a client_message_id; unacknowledged sends are re-sent after a reconnect
//   (the server de-duplicates by that id) until an `ack` or an `error` answers them.

const PING_EVERY_MS = 25000;
const BACKOFF_MIN_MS = 500;
const BACKOFF_MAX_MS = 15000;

export function newId() {
  if (globalThis.crypto && typeof crypto.randomUUID === "function") return crypto.randomUUID();
  return "id-" + Date.now().toString(36) + "-" + Math.random().toString(36).slice(2);
}

export class RealtimeClient {
  /**
   * @param {() => string} getToken   returns the current access token
   * @param {object} [hooks]          onStatus(status, detail), onAuthError(message), onReady(frame)
   */
  constructor(getToken, hooks = {}) {
    this.getToken = getToken;
    this.hooks = hooks;
    this.ws = null;
    this.status = "idle";
    this.streams = new Map(); // stream -> { lastSeq, onEvent }
    this.outbox = new Map(); // client_message_id -> { frame, resolve, reject }
    this.requests = new Map(); // frame id -> { resolve, reject }
    this.fences = new Map(); // stream -> ping id sent right after unsubscribing it (see unsubscribe)
    this.nextId = 1;
    this.attempt = 0;
    this.stopped = false;
    this.timer = null;
    this.pinger = null;
  }

  connect() {
    this.stopped = false;
    this._open();
  }

  close() {
    this.stopped = true;
    clearTimeout(this.timer);
    clearInterval(this.pinger);
    if (this.ws) this.ws.close(1000);
    this._setStatus("closed");
  }

  get online() {
    return this.status === "online";
  }

  /** Follow a stream from `after` (the last seq already processed). Re-subscribed after every reconnect. */
  subscribe(stream, after, onEvent) {
    const existing = this.streams.get(stream);
    if (existing) {
      existing.onEvent = onEvent;
      return;
    }
    this.streams.set(stream, { lastSeq: Number(after) || 0, onEvent, fence: this.fences.get(stream) || null });
    if (this.online) this._subscribe(stream);
  }

  unsubscribe(stream) {
    if (!this.streams.delete(stream)) return;
    if (!this.online) return;
    this._send({ type: "unsubscribe", stream });
    // Events of the old subscription may still be in flight. The server answers frames in order, so they
    // all arrive before the pong of this ping: a re-subscription ignores the stream's events until then.
    const id = this._id();
    this.fences.set(stream, id);
    this._send({ type: "ping", id });
  }

  lastSeq(stream) {
    const s = this.streams.get(stream);
    return s ? s.lastSeq : 0;
  }

  /** Resolves with the stored Message resource; survives reconnects (same client_message_id). */
  sendMessage(conversationSid, body, clientMessageId = newId(), attributes = undefined) {
    const frame = { type: "send_message", conversation_sid: conversationSid, body, client_message_id: clientMessageId };
    if (attributes !== undefined) frame.attributes = attributes;
    return new Promise((resolve, reject) => {
      this.outbox.set(clientMessageId, { frame, resolve, reject });
      if (this.online) this._send({ ...frame, id: this._id() });
    });
  }

  // --- internals -------------------------------------------------------------------------------------

  _id() {
    return String(this.nextId++);
  }

  _setStatus(status, detail) {
    this.status = status;
    if (this.hooks.onStatus) this.hooks.onStatus(status, detail);
  }

  _url() {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    return `${scheme}//${location.host}/v1/Realtime?token=${encodeURIComponent(this.getToken())}`;
  }

  _open() {
    clearTimeout(this.timer);
    this._setStatus(this.attempt === 0 ? "connecting" : "reconnecting");
    let ws;
    try {
      ws = new WebSocket(this._url());
    } catch (err) {
      this._scheduleReconnect();
      return;
    }
    this.ws = ws;
    let authFailed = false;
    ws.onmessage = (msg) => {
      let frame;
      try {
        frame = JSON.parse(msg.data);
      } catch {
        return;
      }
      if (frame.type === "error" && !frame.id && !this.online) authFailed = true;
      this._onFrame(frame);
    };
    ws.onclose = (ev) => {
      if (this.ws !== ws) return;
      this.ws = null;
      clearInterval(this.pinger);
      this._clearFences();
      for (const { reject } of this.requests.values()) reject(new Error("connection lost"));
      this.requests.clear();
      if (this.stopped) return;
      if (ev.code === 4401 || authFailed) {
        this.stopped = true;
        this._setStatus("unauthorized");
        if (this.hooks.onAuthError) this.hooks.onAuthError(this.authMessage || "Your session has expired.");
        return;
      }
      this._scheduleReconnect();
    };
  }

  _scheduleReconnect() {
    this.attempt += 1;
    const base = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** (this.attempt - 1));
    const delay = Math.round(base / 2 + Math.random() * (base / 2));
    this._setStatus("offline", { retryInMs: delay });
    this.timer = setTimeout(() => this._open(), delay);
  }

  _send(frame) {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return false;
    this.ws.send(JSON.stringify(frame));
    return true;
  }

  _request(frame) {
    const id = this._id();
    return new Promise((resolve, reject) => {
      this.requests.set(id, { resolve, reject });
      if (!this._send({ ...frame, id })) {
        this.requests.delete(id);
        reject(new Error("not connected"));
      }
    });
  }

  _subscribe(stream) {
    const entry = this.streams.get(stream);
    if (!entry) return;
    this._request({ type: "subscribe", stream, after: entry.lastSeq }).catch((err) => {
      if (this.hooks.onSubscribeError) this.hooks.onSubscribeError(stream, err);
    });
  }

  _onFrame(frame) {
    switch (frame.type) {
      case "ready":
        this.attempt = 0;
        this._clearFences();
        this._setStatus("online", frame);
        if (this.hooks.onReady) this.hooks.onReady(frame);
        for (const stream of this.streams.keys()) this._subscribe(stream);
        for (const { frame: f } of this.outbox.values()) this._send({ ...f, id: this._id() });
        clearInterval(this.pinger);
        this.pinger = setInterval(() => this._send({ type: "ping", id: this._id() }), PING_EVERY_MS);
        return;
      case "event": {
        const entry = this.streams.get(frame.stream);
        // Unsubscribed, from before a re-subscription (fenced), or already processed.
        if (!entry || entry.fence || frame.seq <= entry.lastSeq) return;
        entry.lastSeq = frame.seq;
        try {
          entry.onEvent(frame);
        } catch (err) {
          console.error("realtime handler failed", frame, err);
        }
        return;
      }
      case "ack": {
        const pending = this.outbox.get(frame.client_message_id);
        if (pending) {
          this.outbox.delete(frame.client_message_id);
          pending.resolve(frame.message);
        }
        this._settle(frame, true);
        return;
      }
      case "error": {
        if (!frame.id && !this.online) this.authMessage = frame.message;
        const pending = frame.client_message_id && this.outbox.get(frame.client_message_id);
        if (pending) {
          this.outbox.delete(frame.client_message_id);
          pending.reject(Object.assign(new Error(frame.message), { code: frame.code }));
        }
        this._settle(frame, false);
        return;
      }
      case "pong":
        for (const [stream, id] of this.fences) {
          if (id !== frame.id) continue;
          this.fences.delete(stream);
          const entry = this.streams.get(stream);
          if (entry && entry.fence === id) entry.fence = null;
        }
        this._settle(frame, true);
        return;
      default:
        this._settle(frame, true);
    }
  }

  _clearFences() {
    this.fences.clear();
    for (const entry of this.streams.values()) entry.fence = null;
  }

  _settle(frame, ok) {
    const req = frame.id && this.requests.get(frame.id);
    if (!req) return;
    this.requests.delete(frame.id);
    if (ok) req.resolve(frame);
    else req.reject(Object.assign(new Error(frame.message), { code: frame.code }));
  }
}
