// Parley web chat: pre-chat form → POST /flex-api/v2/WebChats → realtime conversation (docs/realtime.md).
// The chat itself (conversation, identity, token, name) lives in localStorage, so every tab of the site and a
// reload or a tab opened the next day resume the same conversation until it closes; the token is renewed
// before it expires (POST /flex-api/v2/WebChats/Tokens/Refresh) and the renewed one reaches the other tabs
// through the storage event. What one tab has seen (last seq, the transcript's events, unacknowledged sends)
// lives in that tab's sessionStorage; a new tab replays the conversation from its start. Typing indicators go both ways; read
// receipts too: this page moves the customer's read horizon while the chat is on screen, and shows "Seen"
// under the customer's last message an agent has read (horizons from the Participants list on load, then
// from participant.updated events). Attachments: the customer picks a file (uploaded at once to the Media
// Content Service with the chat token) and it goes with the next message; messages show their media.
import { AttachmentPicker, attachmentList, knownService, releaseAttachments } from "/shared/media.js";
import { RealtimeClient, newId } from "/shared/realtime.js";
import { ReadHorizons, placeSeen, seenMarker } from "/shared/receipts.js";
import { TypingPeople, TypingSender } from "/shared/typing.js";

const MAX_STORED_EVENTS = 400;
const params = new URLSearchParams(location.search);
const address = (params.get("address") || "").trim();
const STORAGE_KEY = `parley.webchat.${address}`; // localStorage: the chat, shared by the site's tabs
const TAB_KEY = `parley.webchat.${address}.tab`; // sessionStorage: what this tab has seen
const RENEW_AT = 0.75; // renew the token when this share of its lifetime has passed
const RENEW_RETRY_MS = 30000; // after a failed renewal (offline), try again this much later
const embedded = window.parent !== window;

const $ = (id) => document.getElementById(id);
const ui = {
  subtitle: $("widget-subtitle"), connection: $("connection"), fatal: $("fatal"), fatalTitle: $("fatal-title"),
  fatalText: $("fatal-text"), fatalAction: $("fatal-action"), prechat: $("prechat"), form: $("prechat-form"),
  name: $("customer-name"), prechatError: $("prechat-error"), start: $("start-chat"), chat: $("chat"),
  log: $("log"), composer: $("composer"), message: $("message"), send: $("send"), close: $("close-widget"),
  typing: $("typing"), attach: $("attach"), attachment: $("attachment"), attachError: $("attach-error"),
  endChat: $("end-chat"), endConfirm: $("end-confirm"), endYes: $("end-confirm-yes"), endNo: $("end-confirm-no"),
  endError: $("end-error"), ended: $("ended"), endedText: $("ended-text"), download: $("download-transcript"),
  newChat: $("new-chat"),
};

let session = null; // { address, conversation_sid, identity, token, name, lastSeq, events: [], outbox: [] }
let client = null;
const participants = new Map(); // participant_sid -> { identity, name, role }
const rendered = new Map(); // message sid -> <li>
const pendingEls = new Map(); // client_message_id -> <li>
let agentsPresent = new Set();
const reads = new ReadHorizons(); // everyone's read horizon in the conversation
const seen = seenMarker(); // under the customer's last message an agent has read
const readReady = { replayed: false, horizons: false }; // reads wait for both: the page then knows the server's
let readSent = -1; // the highest read index this page has asked for
let logOnScreen = false; // the log is in the viewport (an embedded widget can be closed)
const typingPeople = new TypingPeople(() => {
  if (ui.typing.textContent !== typingPeople.text) ui.typing.textContent = typingPeople.text;
});
const typingSender = new TypingSender((conversationSid) => client && client.sendTyping(conversationSid));
const attachments = new AttachmentPicker({
  input: ui.attach, draft: ui.attachment, error: ui.attachError, token: () => session.token,
});

// --- storage -----------------------------------------------------------------------------------------

const SHARED_FIELDS = ["address", "conversation_sid", "identity", "token", "name"];
let sharedWritten = null; // the JSON last written to localStorage (writes only on change: each fires events)

function parseStored(text) {
  try {
    const value = JSON.parse(text || "null");
    return value && value.conversation_sid && value.token ? value : null;
  } catch {
    return null;
  }
}

function loadSession() {
  const shared = parseStored(localStorage.getItem(STORAGE_KEY)) || parseStored(sessionStorage.getItem(STORAGE_KEY));
  if (!shared) return null;
  sessionStorage.removeItem(STORAGE_KEY); // an older version kept the whole session there
  let tab = null;
  try {
    tab = JSON.parse(sessionStorage.getItem(TAB_KEY) || "null");
  } catch {
    tab = null;
  }
  const own = tab && tab.conversation_sid === shared.conversation_sid ? tab : {};
  return { ...shared, lastSeq: own.lastSeq || 0, events: own.events || shared.events || [],
    outbox: own.outbox || shared.outbox || [] };
}

function saveSession() {
  if (!session) return;
  if (session.events.length > MAX_STORED_EVENTS) session.events = session.events.slice(-MAX_STORED_EVENTS);
  try {
    const shared = JSON.stringify(Object.fromEntries(SHARED_FIELDS.map((k) => [k, session[k]])));
    if (shared !== sharedWritten) {
      localStorage.setItem(STORAGE_KEY, shared);
      sharedWritten = shared;
    }
    sessionStorage.setItem(TAB_KEY, JSON.stringify({ conversation_sid: session.conversation_sid,
      lastSeq: session.lastSeq, events: session.events, outbox: session.outbox }));
  } catch {
    /* storage full or disabled: the chat still works, it just won't survive a reload */
  }
}

function clearSession() {
  localStorage.removeItem(STORAGE_KEY);
  sessionStorage.removeItem(STORAGE_KEY);
  sessionStorage.removeItem(TAB_KEY);
  sharedWritten = null;
  clearTimeout(renewTimer);
  session = null;
}

// --- the token: renewed before it expires, shared with the other tabs ------------------------------------

let renewTimer = null;

function claims(token) {
  try {
    const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    return JSON.parse(atob(part + "=".repeat((4 - (part.length % 4)) % 4)));
  } catch {
    return {};
  }
}

function expiresAt(token) {
  const { exp } = claims(token);
  return exp ? exp * 1000 : 0;
}

function scheduleRenewal() {
  clearTimeout(renewTimer);
  if (!session) return;
  const { nbf, exp } = claims(session.token);
  if (!exp) return;
  const start = (nbf || exp - 3600) * 1000;
  const at = start + RENEW_AT * (exp * 1000 - start);
  renewTimer = setTimeout(renewToken, Math.max(0, at - Date.now()));
}

/** Exchanges the token for a new one. Resolves true when the chat goes on, false when it has ended. */
async function renewToken() {
  if (!session) return false;
  const newer = parseStored(localStorage.getItem(STORAGE_KEY));
  if (newer && newer.conversation_sid === session.conversation_sid && expiresAt(newer.token) > expiresAt(session.token)) {
    adoptToken(newer.token); // another tab renewed it already
    return true;
  }
  let res;
  try {
    res = await fetch("/flex-api/v2/WebChats/Tokens/Refresh", {
      method: "POST",
      body: new URLSearchParams({ Token: session.token }),
    });
  } catch {
    renewTimer = setTimeout(renewToken, RENEW_RETRY_MS);
    return expiresAt(session.token) > Date.now();
  }
  if (res.ok) {
    const body = await res.json();
    adoptToken(body.token);
    return true;
  }
  if (res.status === 401 || res.status === 403) {
    chatEnded();
    return false;
  }
  renewTimer = setTimeout(renewToken, RENEW_RETRY_MS);
  return expiresAt(session.token) > Date.now();
}

function adoptToken(token) {
  if (!session || token === session.token) return;
  session.token = token;
  saveSession();
  if (client) client.updateToken(token).catch(() => {});
  scheduleRenewal();
}

/** The chat is over for good (closed, or its token can no longer be renewed): offer a new one. */
function chatEnded() {
  clearSession();
  fatal("Your chat has ended", "This conversation is over. You can start a new one.", { restart: true });
}

// Another tab renewed the token, started a new chat or ended this one.
window.addEventListener("storage", (ev) => {
  if (ev.key !== STORAGE_KEY && ev.key !== null) return;
  const next = parseStored(localStorage.getItem(STORAGE_KEY));
  if (session && next && next.conversation_sid === session.conversation_sid) {
    if (expiresAt(next.token) > expiresAt(session.token)) adoptToken(next.token);
    return;
  }
  if ((session && !next) || (next && (!session || next.conversation_sid !== session.conversation_sid))) {
    location.reload(); // follow the other tab: its new chat, or the prechat form
  }
});

// --- views -------------------------------------------------------------------------------------------

function show(view) {
  for (const el of [ui.fatal, ui.prechat, ui.chat]) el.hidden = el !== view;
}

function fatal(title, text, { restart = false } = {}) {
  if (client) client.close();
  ui.fatalTitle.textContent = title;
  ui.fatalText.textContent = text;
  ui.fatalAction.hidden = !restart;
  ui.connection.hidden = true;
  show(ui.fatal);
}

function setConnection(status) {
  const text = { connecting: "Connecting…", reconnecting: "Reconnecting…", offline: "Connection lost. Reconnecting…" }[status];
  ui.connection.hidden = !text;
  ui.connection.textContent = text || "";
  ui.composer.classList.toggle("is-offline", Boolean(text));
}

// Where the chat stands, from its events (replayed after a reload too): the order of the customer's last
// message and of the last agent leaving tells "waiting for an agent" from "the agent has finished".
const progress = { order: 0, lastOwnMessage: 0, lastAgentLeft: 0, closed: false };

function waitingForAgent() {
  return Boolean(session) && !progress.closed && !agentsPresent.size && progress.lastOwnMessage > progress.lastAgentLeft;
}

function updateSubtitle() {
  const names = [...agentsPresent].map((sid) => participants.get(sid)?.name).filter(Boolean);
  ui.subtitle.textContent = progress.closed ? "This chat has ended"
    : names.length ? `You're chatting with ${names.join(", ")}`
    : progress.lastAgentLeft > progress.lastOwnMessage ? "The agent has left the chat. Write again if you need anything"
    : progress.lastOwnMessage ? waitingText()
    : "We usually reply in a few minutes";
  if (waitingForAgent() && !standingTimer) standingTimer = setTimeout(pollStanding, 0);
}

// While the customer waits for an agent: its place in the queue and an estimate (GET …/QueueStanding).
const STANDING_POLL_MS = 10000;
let standing = null;
let standingTimer = null;

function waitingText() {
  if (!standing || standing.status !== "waiting" || !standing.position) return "An agent will be with you shortly";
  const place = standing.position === 1 ? "You're next in the queue" : `You're number ${standing.position} in the queue`;
  const wait = standing.estimated_wait;
  if (wait === null || wait === undefined) return place;
  return `${place} · ${wait < 60 ? "less than a minute" : `about ${Math.round(wait / 60)} min`}`;
}

async function pollStanding() {
  if (!waitingForAgent()) {
    standing = null;
    standingTimer = null;
    return;
  }
  try {
    const res = await fetch(`/flex-api/v2/WebChats/${session.conversation_sid}/QueueStanding`, {
      headers: { "X-Twilio-Token": session.token, Accept: "application/json" },
    });
    if (res.ok) standing = await res.json();
  } catch {
    /* offline: the last figure stays until the next look */
  }
  standingTimer = setTimeout(pollStanding, STANDING_POLL_MS);
  updateSubtitle();
}

// --- rendering ---------------------------------------------------------------------------------------

const displayName = (s) => (s ? s.charAt(0).toUpperCase() + s.slice(1) : s);

function parseJson(value) {
  if (value && typeof value === "object") return value;
  try {
    return JSON.parse(value || "{}") || {};
  } catch {
    return {};
  }
}

function timeLabel(iso) {
  const d = iso ? new Date(iso) : new Date();
  return d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

function scrollToEnd() {
  ui.log.scrollTop = ui.log.scrollHeight;
}

function bubble({ own, author, body, date, pending, media, serviceSid }) {
  const li = document.createElement("li");
  li.className = `msg ${own ? "msg--own" : "msg--other"}`;
  const meta = document.createElement("div");
  meta.className = "msg__meta";
  const who = document.createElement("span");
  who.className = "msg__author";
  who.textContent = own ? "You" : author;
  const when = document.createElement("time");
  when.className = "msg__time";
  if (date) when.dateTime = date;
  when.textContent = timeLabel(date);
  meta.append(who, " · ", when);
  const files = attachmentList(media, { serviceSid, token: session.token });
  const text = document.createElement("div");
  text.className = "msg__body";
  text.textContent = body || "";
  text.hidden = !body; // a message of media alone
  const status = document.createElement("span");
  status.className = "msg__status";
  li.append(meta, ...(files ? [files] : []), text, status);
  setPending(li, pending);
  return li;
}

function setPending(li, state) {
  const status = li.querySelector(".msg__status");
  li.classList.toggle("msg--pending", state === "sending");
  li.classList.toggle("msg--failed", state === "failed");
  status.textContent = state === "sending" ? "Sending…" : state === "failed" ? "Not delivered" : "";
  li.setAttribute("aria-busy", state === "sending" ? "true" : "false");
}

function systemLine(text) {
  const li = document.createElement("li");
  li.className = "system";
  li.textContent = text;
  ui.log.append(li);
  scrollToEnd();
}

function authorName(message) {
  const p = message.participant_sid && participants.get(message.participant_sid);
  if (p) return p.name;
  for (const q of participants.values()) if (q.identity === message.author) return q.name;
  return message.author === "system" ? "System" : "Agent";
}

/** Turns a pending bubble into a delivered one, or renders the message; never twice. */
function placeMessage(message) {
  if (rendered.has(message.sid)) return;
  const cmid = parseJson(message.attributes).client_message_id;
  const pendingEl = cmid && pendingEls.get(cmid);
  if (pendingEl) {
    pendingEls.delete(cmid);
    setPending(pendingEl, null);
    pendingEl.dataset.sid = message.sid;
    pendingEl.dataset.index = String(message.index);
    pendingEl.querySelector("time").dateTime = message.date_created;
    rendered.set(message.sid, pendingEl);
    showSeen();
    return;
  }
  const own = message.author === session.identity;
  knownService(message.conversation_sid, message.chat_service_sid);
  const li = bubble({ own, author: authorName(message), body: message.body, date: message.date_created,
    media: message.media, serviceSid: message.chat_service_sid });
  li.dataset.sid = message.sid;
  li.dataset.index = String(message.index);
  rendered.set(message.sid, li);
  // Keep pending (unacknowledged) bubbles at the bottom.
  const firstPending = ui.log.querySelector(".msg--pending, .msg--failed");
  ui.log.insertBefore(li, firstPending);
  scrollToEnd();
}

/** An edited message shows its new text. */
function updateMessage(message) {
  const li = rendered.get(message.sid);
  if (!li) return;
  const text = li.querySelector(".msg__body");
  text.textContent = message.body || "";
  text.hidden = !message.body;
}

/** A removed message's bubble goes. */
function removeMessage(sid) {
  const li = rendered.get(sid);
  if (!li) return;
  releaseAttachments(li);
  li.remove();
  rendered.delete(sid);
  showSeen();
}

// --- read receipts -----------------------------------------------------------------------------------

const isSelf = (sid) => participants.get(sid)?.identity === session.identity;

/** "Seen" under the customer's last message that someone else (an agent) has read. */
function showSeen() {
  const own = [];
  for (const li of rendered.values()) {
    if (li.classList.contains("msg--own")) own.push({ index: Number(li.dataset.index), el: li });
  }
  placeSeen(seen, own, reads.highest((sid) => !isSelf(sid)));
}

/** While the chat is on screen, everything shown is read: the customer's horizon moves up to it. */
function markRead() {
  if (session && client && readReady.replayed && readReady.horizons && !document.hidden && logOnScreen) {
    let highest = -1;
    for (const li of rendered.values()) highest = Math.max(highest, Number(li.dataset.index));
    const own = ownHorizon();
    if (highest > own) {
      readSent = highest;
      client.markRead(session.conversation_sid, highest);
    }
  }
  reportUnread();
}

function ownHorizon() {
  let own = readSent;
  for (const [sid] of participants) if (isSelf(sid)) own = Math.max(own, reads.of(sid));
  return own;
}

// Embedded: the launcher shows how many messages arrived that the customer has not seen (the chat is closed).
let unreadReported = 0;
function reportUnread() {
  if (!embedded || !session || !readReady.horizons) return;
  const own = ownHorizon();
  let count = 0;
  for (const li of rendered.values()) {
    if (!li.classList.contains("msg--own") && Number(li.dataset.index) > own) count += 1;
  }
  if (count !== unreadReported) {
    unreadReported = count;
    window.parent.postMessage({ type: "parley:unread", count }, "*");
  }
}

/** The Participants list (the chat token may read it): the read horizons as they are now, after a reload too. */
async function loadParticipants() {
  reads.fetching();
  let list = [];
  try {
    const res = await fetch(`/conversations/v1/Conversations/${session.conversation_sid}/Participants?PageSize=100`, {
      headers: { "X-Twilio-Token": session.token, Accept: "application/json" },
    });
    if (res.ok) list = (await res.json()).participants || [];
  } catch {
    /* offline: participant.updated events fill the horizons in */
  }
  for (const p of list) {
    if (!participants.has(p.sid)) rememberParticipant({ ...p, participant_sid: p.sid });
  }
  reads.fetched(list);
  readReady.horizons = true;
  showSeen();
  markRead();
}

function rememberParticipant(data) {
  const attrs = parseJson(data.attributes);
  const name = displayName(attrs.friendly_name || data.identity);
  const p = { identity: data.identity, name, role: attrs.role || "participant" };
  participants.set(data.participant_sid, p);
  return p;
}

function dropFromOutbox(cmid) {
  session.outbox = session.outbox.filter((m) => m.client_message_id !== cmid);
  saveSession();
}

/**
 * One conversation event, live or restored from the session. The session keeps the transcript's events:
 * an edit changes the stored message.added, a removal drops it, and read horizons are not kept (the
 * Participants list has them after a reload); typing is live only.
 */
function handleEvent(frame, { restoring = false } = {}) {
  const data = frame.data || {};
  let store = true;
  switch (frame.event) {
    case "typing":
      if (data.identity && data.identity !== session.identity) {
        const p = participants.get(data.participant_sid);
        typingPeople.typing(data.identity, p ? p.name : displayName(data.identity));
      }
      return;
    case "message.added":
      if (!data.deleted) {
        if (data.author === session.identity) progress.lastOwnMessage = ++progress.order;
        placeMessage(data);
        typingPeople.stopped(data.author);
        const cmid = parseJson(data.attributes).client_message_id;
        if (cmid && !restoring) dropFromOutbox(cmid);
        if (!restoring) markRead();
      }
      break;
    case "message.updated":
      store = false;
      if (!data.deleted) {
        updateMessage(data);
        const stored = session.events.find((e) => e.event === "message.added" && e.data && e.data.sid === data.sid);
        if (stored) stored.data = data;
      }
      break;
    case "message.removed":
      store = false;
      removeMessage(data.message_sid);
      session.events = session.events.filter(
        (e) => !(e.event === "message.added" && e.data && e.data.sid === data.message_sid),
      );
      break;
    case "participant.updated": {
      store = false;
      const known = participants.get(data.participant_sid);
      const p = rememberParticipant(data);
      if (known && known.role === "agent" && p.role !== "agent") agentsPresent.delete(data.participant_sid);
      reads.set(data.participant_sid, data.last_read_message_index);
      showSeen();
      break;
    }
    case "participant.added": {
      const { name, role } = rememberParticipant(data);
      if (role === "agent") {
        agentsPresent.add(data.participant_sid);
        systemLine(`${name} joined the chat`);
      }
      break;
    }
    case "participant.removed": {
      const p = participants.get(data.participant_sid);
      if (p && p.role === "agent") {
        agentsPresent.delete(data.participant_sid);
        if (!agentsPresent.size) progress.lastAgentLeft = ++progress.order;
        systemLine(`${p.name} left the chat`);
      }
      break;
    }
    case "conversation.state_updated":
      if (data.state_to === "closed") {
        progress.closed = true;
        clearTimeout(renewTimer);
        systemLine("This conversation has ended.");
        showEnded("This conversation has ended.");
      }
      break;
    default:
      return;
  }
  if (!restoring) {
    session.lastSeq = frame.seq;
    if (store) session.events.push(frame);
    saveSession();
  }
  updateSubtitle();
}

// --- sending -----------------------------------------------------------------------------------------

/** `media`: the uploaded Media resources the message carries (sid, filename, content_type, size, service_sid). */
function send(body, cmid = newId(), date = new Date().toISOString(), media = []) {
  const li = bubble({ own: true, body, date, pending: "sending", media });
  li.dataset.clientMessageId = cmid;
  pendingEls.set(cmid, li);
  ui.log.append(li);
  scrollToEnd();
  if (!session.outbox.some((m) => m.client_message_id === cmid)) {
    const kept = media.map(({ sid, filename, content_type, size, service_sid }) =>
      ({ sid, filename, content_type, size, service_sid }));
    session.outbox.push({ client_message_id: cmid, body, date, media: kept });
    saveSession();
  }
  const attributes = JSON.stringify({ client_message_id: cmid });
  client.sendMessage(session.conversation_sid, body, cmid, attributes, media.map((m) => m.sid)).then(
    (message) => {
      placeMessage(message);
      dropFromOutbox(cmid);
    },
    (err) => {
      setPending(li, "failed");
      li.title = err.message || "The message could not be delivered";
      dropFromOutbox(cmid);
    },
  );
}

function autoGrow() {
  ui.message.style.height = "auto";
  ui.message.style.height = `${Math.min(ui.message.scrollHeight, 140)}px`;
}

ui.composer.addEventListener("submit", (ev) => {
  ev.preventDefault();
  const body = ui.message.value.trim();
  if (!session) return;
  const draft = attachments.current();
  if (draft && draft.state === "uploading") return attachments.stillUploading();
  if (!body && !draft) return;
  const media = attachments.take();
  ui.message.value = "";
  autoGrow();
  typingSender.sent(session.conversation_sid);
  send(body, newId(), new Date().toISOString(), media);
  ui.message.focus();
});
ui.message.addEventListener("keydown", (ev) => {
  if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) {
    ev.preventDefault();
    ui.composer.requestSubmit();
  }
});
ui.message.addEventListener("input", () => {
  autoGrow();
  if (session && ui.message.value.trim()) typingSender.typed(session.conversation_sid);
});
document.addEventListener("visibilitychange", markRead);
if ("IntersectionObserver" in window) {
  new IntersectionObserver((entries) => {
    logOnScreen = entries.some((e) => e.isIntersecting);
    markRead();
  }).observe(ui.log);
} else {
  logOnScreen = true;
}

// --- lifecycle ---------------------------------------------------------------------------------------

function startChat() {
  show(ui.chat);
  ui.endChat.hidden = false;
  attachments.show(session.conversation_sid);
  for (const frame of session.events) handleEvent(frame, { restoring: true });
  client = new RealtimeClient(() => session.token, {
    onStatus: setConnection,
    // The token was refused (expired while offline, say): renew it and reconnect, or the chat is over.
    onAuthError: () => {
      renewToken().then((goesOn) => {
        if (goesOn && client) client.connect();
      });
    },
    onSubscribeError: (_stream, err) => fatal("Chat unavailable", err.message || "This conversation is not available.",
      { restart: true }),
  });
  client.subscribe(session.conversation_sid, session.lastSeq || 0, (frame) => handleEvent(frame), () => {
    readReady.replayed = true;
    markRead();
  });
  client.connect();
  scheduleRenewal();
  loadParticipants();
  // Messages typed before a reload that were never acknowledged: resend with the same client_message_id.
  for (const m of [...session.outbox]) send(m.body, m.client_message_id, m.date, m.media || []);
  updateSubtitle();
  ui.message.focus();
}

ui.form.addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const name = ui.name.value.trim();
  if (!name) {
    ui.prechatError.textContent = "Please enter your name.";
    ui.name.setAttribute("aria-invalid", "true");
    ui.name.focus();
    return;
  }
  ui.name.removeAttribute("aria-invalid");
  ui.prechatError.textContent = "";
  ui.start.disabled = true;
  ui.start.textContent = "Starting…";
  try {
    const res = await fetch("/flex-api/v2/WebChats", {
      method: "POST",
      body: new URLSearchParams({ AddressSid: address, CustomerFriendlyName: name }),
    });
    const body = await res.json().catch(() => ({}));
    if (!res.ok) {
      if (res.status === 404 || res.status === 400) {
        fatal("Chat unavailable", "This chat is not available right now. Please try again later.");
        return;
      }
      throw new Error(body.message || `HTTP ${res.status}`);
    }
    session = { address, conversation_sid: body.conversation_sid, identity: body.identity, token: body.token,
      name, lastSeq: 0, events: [], outbox: [] };
    saveSession();
    startChat();
  } catch (err) {
    ui.prechatError.textContent = "We couldn't start the chat. Check your connection and try again.";
  } finally {
    ui.start.disabled = false;
    ui.start.textContent = "Start chat";
  }
});

// --- ending the chat and its transcript ---------------------------------------------------------------

/** The conversation as text: each message with its time, author and attachments, and the system lines. */
function transcriptText() {
  const lines = [`${document.getElementById("widget-title").textContent} — ${new Date().toLocaleString()}`, ""];
  for (const li of ui.log.children) {
    if (li.classList.contains("system")) {
      lines.push(`— ${li.textContent} —`);
      continue;
    }
    if (!li.classList.contains("msg") || li.classList.contains("msg--failed")) continue;
    const when = li.querySelector("time");
    const at = when && when.dateTime ? new Date(when.dateTime).toLocaleString() : "";
    const who = li.querySelector(".msg__author")?.textContent || "";
    const body = li.querySelector(".msg__body")?.textContent || "";
    const files = [...li.querySelectorAll(".attachment")].map((a) =>
      a.querySelector(".attachment__name")?.textContent || a.querySelector("img")?.alt || "attachment");
    lines.push(`[${at}] ${who}: ${body}${files.length ? ` (attached: ${files.join(", ")})` : ""}`.trimEnd());
  }
  return lines.join("\n") + "\n";
}

let endedTranscript = null; // the transcript as it was when the chat ended (the session is gone by then)

function showEnded(text) {
  endedTranscript = transcriptText();
  ui.message.disabled = ui.send.disabled = ui.attach.disabled = true;
  attachments.show(null);
  ui.endChat.hidden = true;
  ui.endConfirm.hidden = true;
  ui.endedText.textContent = text;
  ui.ended.hidden = false;
  ui.composer.hidden = true;
  ui.newChat.focus();
}

ui.endChat.addEventListener("click", () => {
  ui.endConfirm.hidden = false;
  ui.endError.textContent = "";
  ui.endYes.focus();
});
ui.endNo.addEventListener("click", () => {
  ui.endConfirm.hidden = true;
  ui.endChat.focus();
});
ui.endYes.addEventListener("click", async () => {
  if (!session) return;
  ui.endYes.disabled = true;
  try {
    const res = await fetch(
      `/conversations/v1/Conversations/${session.conversation_sid}/Participants/${encodeURIComponent(session.identity)}`,
      { method: "DELETE", headers: { "X-Twilio-Token": session.token } },
    );
    if (!res.ok && res.status !== 404) {
      const body = await res.json().catch(() => ({}));
      throw new Error(body.message || `HTTP ${res.status}`);
    }
    systemLine("You ended the chat.");
    showEnded("You ended the chat. Thank you for getting in touch.");
    if (client) client.close();
    clearSession();
  } catch (err) {
    ui.endError.textContent = "We couldn't end the chat. Check your connection and try again.";
  } finally {
    ui.endYes.disabled = false;
  }
});
ui.download.addEventListener("click", () => {
  const text = session ? transcriptText() : endedTranscript || transcriptText();
  const link = document.createElement("a");
  link.href = URL.createObjectURL(new Blob([text], { type: "text/plain;charset=utf-8" }));
  link.download = `chat-transcript-${new Date().toISOString().slice(0, 10)}.txt`;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 1000);
});
ui.newChat.addEventListener("click", () => {
  clearSession();
  location.reload();
});

ui.fatalAction.addEventListener("click", () => {
  clearSession();
  location.reload();
});

if (embedded) {
  ui.close.hidden = false;
  const closeWidget = () => window.parent.postMessage({ type: "parley:close" }, "*");
  ui.close.addEventListener("click", closeWidget);
  document.addEventListener("keydown", (ev) => {
    if (ev.key === "Escape") closeWidget();
  });
  document.documentElement.classList.add("is-embedded");
}

if (!address || !/^IG[0-9a-f]{32}$/i.test(address)) {
  fatal("Chat unavailable", address
    ? "This chat link is not valid. Please check the address and try again."
    : "This chat link is missing its address. Open it as /chat/?address=IG… (ask the website owner for the right link).");
} else {
  session = loadSession();
  if (session && expiresAt(session.token) <= Date.now() + 5000) {
    // Back after the token expired (the next morning): renew it first; a closed chat offers a new one.
    renewToken().then((goesOn) => {
      if (goesOn) startChat();
    });
  } else if (session) {
    startChat();
  } else {
    show(ui.prechat);
    ui.name.value = params.get("name") || "";
    ui.name.focus();
  }
}
