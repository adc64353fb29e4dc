// One conversation's transcript: renders conversation-stream events into an <ol role="log">, once each
// (deduplicated by message SID), with pending bubbles for messages the agent sent that are not yet acked;
// edits and removals change the bubbles, and a "Seen" marker shows how far the customer has read. Messages
// with media show their attachments (pictures as thumbnails, other files as download links).
import { parseJson } from "./api.js";
import { attachmentList, knownService, releaseAttachments } from "/shared/media.js";
import { ReadHorizons, placeSeen, seenMarker } from "/shared/receipts.js";

const displayName = (s) => (s ? s.charAt(0).toUpperCase() + s.slice(1) : s);

// A message's `delivery` summary (receipts from an SMS, WhatsApp or Messenger provider) in words: the furthest
// state every recipient reached, or the failure. Chat-only messages have no summary and show nothing.
export function deliveryLabel(delivery) {
  if (!delivery || !delivery.total) return "";
  if (delivery.failed !== "none" || delivery.undelivered !== "none") return "Not delivered";
  if (delivery.read === "all") return "Read";
  if (delivery.delivered === "all") return "Delivered";
  if (delivery.sent === "all" || delivery.sent === "some") return "Sent";
  return "";
}

function timeLabel(iso) {
  return (iso ? new Date(iso) : new Date()).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

export class Transcript {
  /**
   * @param {object} opts
   * @param {string} opts.label            accessible name of the log
   * @param {(m: object, p?: object) => boolean} opts.isOwn   whether a message was written by this agent
   * @param {() => string} opts.token      the access token (media content is downloaded with it)
   */
  constructor({ label, isOwn, token }) {
    this.isOwn = isOwn;
    this.token = token;
    this.participants = new Map(); // participant_sid -> { identity, name, role, attrs }
    this.rendered = new Map(); // message sid -> <li>
    this.messages = new Map(); // message sid -> { index, body, media, own } of the messages shown
    this.reads = new ReadHorizons(); // the participants' read horizons
    this.seen = seenMarker();
    this.pending = new Map(); // client_message_id -> <li>
    this.lastMessage = null;
    this.customerName = null;
    this.el = document.createElement("ol");
    this.el.className = "transcript";
    this.el.setAttribute("role", "log");
    this.el.setAttribute("aria-live", "polite");
    this.el.setAttribute("aria-relevant", "additions");
    this.el.setAttribute("aria-label", label);
    this.el.tabIndex = 0;
  }

  /** Handles one conversation event; returns the message when it is a new one (for unread counts). */
  handle(frame) {
    const data = frame.data || {};
    if (frame.event === "message.added" && !data.deleted) return this.place(data) ? data : null;
    if (frame.event === "message.updated" && !data.deleted) {
      this.update(data);
    } else if (frame.event === "message.removed") {
      this.remove(data.message_sid);
    } else if (frame.event === "participant.added") {
      const { name, role, attrs } = this.learn(data);
      if (role === "customer") this.customerName = attrs.friendly_name || this.customerName;
      this.system(role === "customer" ? `${name} started the chat` : `${name} joined`, frame.date);
    } else if (frame.event === "participant.updated") {
      this.learn(data);
      this.reads.set(data.participant_sid, data.last_read_message_index);
      this.showSeen();
    } else if (frame.event === "participant.removed") {
      const p = this.participants.get(data.participant_sid);
      this.system(`${p ? p.name : displayName(data.identity)} left`, frame.date);
    } else if (frame.event === "conversation.state_updated") {
      this.system(`Conversation ${data.state_to}`, frame.date);
    }
    return null;
  }

  /** Records a participant (from participant.added / .updated, or the Participants list). */
  learn(data) {
    const attrs = parseJson(data.attributes);
    const role = attrs.role || "participant";
    const name = displayName(attrs.friendly_name || data.identity);
    const p = { identity: data.identity, name, role, attrs };
    this.participants.set(data.participant_sid, p);
    return p;
  }

  /** The Participants list (REST) on (re)load: the read horizons as the server has them. */
  loadParticipants(list) {
    for (const r of list) if (!this.participants.has(r.sid)) this.learn({ ...r, participant_sid: r.sid });
    this.reads.fetched(list);
    this.showSeen();
  }

  /** How far the customer (anyone but the contact center's agents and supervisors) has read. */
  readerHorizon() {
    return this.reads.highest((sid) => {
      const p = this.participants.get(sid);
      return !p || (p.role !== "agent" && p.role !== "supervisor");
    });
  }

  /** "Seen" under this agent's last message the customer has read. */
  showSeen() {
    const own = [];
    for (const [sid, m] of this.messages) if (m.own) own.push({ index: m.index, el: this.rendered.get(sid) });
    placeSeen(this.seen, own, this.readerHorizon());
  }

  /** The newest message still shown (for the task's preview), or null. */
  latest() {
    let best = null;
    for (const m of this.messages.values()) if (!best || m.index > best.index) best = m;
    return best;
  }

  /** An edited message: its bubble shows the new text. */
  update(message) {
    const li = this.rendered.get(message.sid);
    const known = this.messages.get(message.sid);
    if (!li || !known) return false;
    known.body = message.body;
    const text = li.querySelector(".msg__body");
    text.textContent = message.body || "";
    text.hidden = !message.body;
    this.showDelivery(li, message.delivery);
    return true;
  }

  /** A removed message: its bubble goes. Returns what it was, or null. */
  remove(sid) {
    const li = this.rendered.get(sid);
    const known = this.messages.get(sid);
    if (!li) return null;
    releaseAttachments(li);
    li.remove();
    this.rendered.delete(sid);
    this.messages.delete(sid);
    this.showSeen();
    return known || null;
  }

  participantOf(message) {
    if (message.participant_sid && this.participants.has(message.participant_sid)) {
      return this.participants.get(message.participant_sid);
    }
    for (const p of this.participants.values()) if (p.identity === message.author) return p;
    return null;
  }

  /** Renders a stored message, or turns the matching pending bubble into it. False if already shown. */
  place(message) {
    if (this.rendered.has(message.sid)) return false;
    this.lastMessage = message;
    knownService(message.conversation_sid, message.chat_service_sid);
    const cmid = parseJson(message.attributes).client_message_id;
    const pendingEl = cmid && this.pending.get(cmid);
    if (pendingEl) {
      this.pending.delete(cmid);
      this.setState(pendingEl, null);
      pendingEl.dataset.sid = message.sid;
      this.rendered.set(message.sid, pendingEl);
      this.messages.set(message.sid, { index: message.index, body: message.body, media: message.media, own: true });
      this.showSeen();
      return false;
    }
    const p = this.participantOf(message);
    const own = this.isOwn(message, p);
    const author = own ? "You" : p ? p.name : displayName(message.author);
    const li = this.bubble({ own, author, body: message.body, date: message.date_created, role: p && p.role,
      media: message.media, serviceSid: message.chat_service_sid });
    li.dataset.sid = message.sid;
    this.showDelivery(li, message.delivery);
    this.rendered.set(message.sid, li);
    this.messages.set(message.sid, { index: message.index, body: message.body, media: message.media, own });
    this.el.insertBefore(li, this.el.querySelector(".msg--pending, .msg--failed"));
    if (own) this.showSeen();
    this.scroll();
    return true;
  }

  /** A message this agent sent, until it is acked; `media`: the uploaded Media resources it carries. */
  addPending(cmid, body, media = []) {
    const li = this.bubble({ own: true, author: "You", body, date: null, media });
    li.dataset.clientMessageId = cmid;
    this.setState(li, "sending");
    this.pending.set(cmid, li);
    this.el.append(li);
    this.scroll();
  }

  fail(cmid, reason) {
    const li = this.pending.get(cmid);
    if (!li) return;
    this.pending.delete(cmid);
    this.setState(li, "failed");
    li.title = reason || "";
  }

  bubble({ own, author, body, date, role, media, serviceSid }) {
    const li = document.createElement("li");
    li.className = `msg ${own ? "msg--own" : role === "agent" ? "msg--agent" : "msg--other"}`;
    const meta = document.createElement("div");
    meta.className = "msg__meta";
    const who = document.createElement("span");
    who.className = "msg__author";
    who.textContent = author;
    const when = document.createElement("time");
    when.textContent = timeLabel(date);
    if (date) when.dateTime = date;
    meta.append(who, " · ", when);
    const files = attachmentList(media, { serviceSid, token: this.token() });
    const text = document.createElement("div");
    text.className = "msg__body";
    text.textContent = body || "";
    text.hidden = !body; // a message of media alone
    const status = document.createElement("span");
    status.className = "msg__status";
    li.append(meta, ...(files ? [files] : []), text, status);
    return li;
  }

  /** How far a message reached the customer's phone (SMS, WhatsApp, Messenger receipts). */
  showDelivery(li, delivery) {
    const label = deliveryLabel(delivery);
    if (!label) return;
    const status = li.querySelector(".msg__status");
    status.textContent = label;
    status.dataset.delivery = label.toLowerCase().replace(" ", "-");
    li.classList.toggle("msg--undelivered", label === "Not delivered");
  }

  setState(li, state) {
    li.classList.toggle("msg--pending", state === "sending");
    li.classList.toggle("msg--failed", state === "failed");
    li.setAttribute("aria-busy", String(state === "sending"));
    li.querySelector(".msg__status").textContent =
      state === "sending" ? "Sending…" : state === "failed" ? "Not delivered" : "";
  }

  system(text, date) {
    const li = document.createElement("li");
    li.className = "system";
    li.textContent = date ? `${text} · ${timeLabel(date)}` : text;
    this.el.insertBefore(li, this.el.querySelector(".msg--pending, .msg--failed"));
    this.scroll();
  }

  scroll() {
    this.el.scrollTop = this.el.scrollHeight;
  }

  /** The transcript is no longer needed: its attachments' blob URLs are revoked. */
  dispose() {
    releaseAttachments(this.el);
  }
}
