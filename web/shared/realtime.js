// Parley realtime client (protocol: docs/realtime.md). Self-contained: each app keeps its own copy.
//
// - one WebSocket, reconnected automatically with exponential backoff (+ jitter);
// - per-stream last `seq`: every (re)subscribe asks for `after=<last seq>`, and events at or below it are
//   dropped, so a stream is never processed twice;
// - send_message frames carry a client_message_id; unacknowledged sends are re-sent after a reconnect
//   (the server de-duplicates by that id) until an `ack` or an `error` answers them;
// - events without a `seq` (`typing`) are live only: handed to the stream's handler, never counted;
// - `read` horizons wait for their ack, one in flight per conversation (a higher one follows it), and are
//   re-sent after a reconnect.

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
    this.reads = new Map(); // conversation sid -> { index, sending }: a read horizon not yet acknowledged
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

  /**
   * Follow a stream from `after` (the last seq already processed). Re-subscribed after every reconnect;
   * `onSubscribed()` runs each time the replay is over (everything up to now has been handed to `onEvent`).
   */
  subscribe(stream, after, onEvent, onSubscribed = null) {
    const existing = this.streams.get(stream);
    if (existing) {
      existing.onEvent = onEvent;
      existing.onSubscribed = onSubscribed;
      return;
    }
    this.streams.set(stream, {
      lastSeq: Number(after) || 0, onEvent, onSubscribed, fence: this.fences.get(stream) || null,
    });
    if (this.online) this._subscribe(stream);
  }

  /**
   * A renewed access token for the same identity: the open socket switches to it (`update_token`), and every
   * later connect uses it (through getToken). Resolves with the ack, or at once when offline.
   */
  updateToken(token) {
    if (!this.online) return Promise.resolve(null);
    return this._request({ type: "update_token", token });
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

  /**
   * Resolves with the stored Message resource; survives reconnects (same client_message_id). `mediaSids`:
   * uploaded Media (ME…) the message carries; with media the body may be empty (it is then left out).
   */
  sendMessage(conversationSid, body, clientMessageId = newId(), attributes = undefined, mediaSids = []) {
    const frame = { type: "send_message", conversation_sid: conversationSid, body, client_message_id: clientMessageId };
    if (attributes !== undefined) frame.attributes = attributes;
    if (mediaSids && mediaSids.length) {
      frame.media_sids = [...mediaSids];
      if (!body) delete frame.body;
    }
    return new Promise((resolve, reject) => {
      this.outbox.set(clientMessageId, { frame, resolve, reject });
      if (this.online) this._send({ ...frame, id: this._id() });
    });
  }

  /** The caller is typing in the conversation (live only; callers send it at most every few seconds). */
  sendTyping(conversationSid) {
    return this._send({ type: "typing", conversation_sid: conversationSid, id: this._id() });
  }

  /**
   * Moves the caller's read horizon in the conversation to `index` (never lower than one already asked for
   * on this page). `onRead(conversationSid, index)` (a hook) hears the server's answer.
   */
  markRead(conversationSid, index) {
    if (!Number.isInteger(index) || index < 0) return;
    const read = this.reads.get(conversationSid) || { index: -1, sending: false };
    if (index <= read.index) return;
    read.index = index;
    this.reads.set(conversationSid, read);
    this._flushRead(conversationSid);
  }

  // --- internals -------------------------------------------------------------------------------------

  _flushRead(conversationSid) {
    const read = this.reads.get(conversationSid);
    if (!read || read.sending || !this.online) return;
    read.sending = true;
    const index = read.index;
    this._request({ type: "read", conversation_sid: conversationSid, index }).then(
      (frame) => {
        read.sending = false;
        if (this.reads.get(conversationSid) !== read) return;
        if (read.index > index) this._flushRead(conversationSid);
        else this.reads.delete(conversationSid);
        if (this.hooks.onRead) this.hooks.onRead(conversationSid, frame.last_read_message_index);
      },
      (err) => {
        read.sending = false;
        // Refused (e.g. no longer a participant): given up. Connection lost: sent again once back online.
        if (err.code !== undefined && this.reads.get(conversationSid) === read) this.reads.delete(conversationSid);
      },
    );
  }


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
    this._request({ type: "subscribe", stream, after: entry.lastSeq }).then(
      () => {
        const current = this.streams.get(stream);
        if (current && current.onSubscribed) current.onSubscribed();
      },
      (err) => {
        if (err.message === "connection lost" || err.message === "not connected") return; // re-subscribed on ready
        if (this.hooks.onSubscribeError) this.hooks.onSubscribeError(stream, err);
      },
    );
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
        for (const conversationSid of this.reads.keys()) this._flushRead(conversationSid);
        clearInterval(this.pinger);
        this.pinger = setInterval(() => this._send({ type: "ping", id: this._id() }), PING_EVERY_MS);
        return;
      case "event": {
        const entry = this.streams.get(frame.stream);
        const live = frame.seq === undefined || frame.seq === null; // ephemeral (typing): not in the log
        // Unsubscribed, from before a re-subscription (fenced), or already processed.
        if (!entry || entry.fence || (!live && frame.seq <= entry.lastSeq)) return;
        if (!live) entry.lastSeq = frame.seq;
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
