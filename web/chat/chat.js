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
import { AttachmentPicker, attachmentList, knownService, releaseAttachments, setMediaWords } from "/shared/media.js";
import { RealtimeClient, newId } from "/shared/realtime.js";
import { ReadHorizons, placeSeen, seenMarker } from "/shared/receipts.js";
import { TypingPeople, TypingSender } from "/shared/typing.js";
import { pickLanguage, translator } from "./strings.js";

const MAX_STORED_EVENTS = 400;
const params = new URLSearchParams(location.search);
const address = (params.get("address") || "").trim();
const STORAGE_KEY = `parley.webchat.${address}`; // localStorage: the chat, shared by the site's tabs
const TAB_KEY = `parley.webchat.${address}.tab`; // sessionStorage: what this tab has seen
const RENEW_AT = 0.75; // renew the token when this share of its lifetime has passed
const RENEW_RETRY_MS = 30000; // after a failed renewal (offline), try again this much later
const embedded = window.parent !== window;
// What the site hands over in the URL fragment (never sent to a server): its signed identity token for the
// customer, and its own wording (data-strings on the embed).
const fragment = new URLSearchParams(location.hash.slice(1));
const identityToken = fragment.get("identity") || "";
const lang = pickLanguage(params.get("lang"));
const t = translator(lang, parseOverrides(fragment.get("strings")));
const SETTINGS_POLL_MS = 30000; // how often the offline form looks whether someone can answer now

function parseOverrides(text) {
  try {
    const value = JSON.parse(text || "{}");
    return value && typeof value === "object" && !Array.isArray(value) ? value : {};
  } catch {
    return {};
  }
}

/** The page's fixed words in the chosen language (data-i18n, data-i18n-aria-label, -placeholder, -title). */
function translatePage() {
  document.documentElement.lang = lang;
  for (const el of document.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const [attr, key] of [["aria-label", "i18nAriaLabel"], ["placeholder", "i18nPlaceholder"], ["title", "i18nTitle"]]) {
    for (const el of document.querySelectorAll(`[data-${attr === "aria-label" ? "i18n-aria-label" : `i18n-${attr}`}]`)) {
      el.setAttribute(attr, t(el.dataset[key]));
    }
  }
  document.title = t("title");
}
translatePage();
setMediaWords(t);

const $ = (id) => document.getElementById(id);
const ui = {
  subtitle: $("widget-subtitle"), connection: $("connection"), fatal: $("fatal"), fatalTitle: $("fatal-title"),
  fatalText: $("fatal-text"), fatalAction: $("fatal-action"), prechat: $("prechat"), form: $("prechat-form"),
  prechatTitle: $("prechat-title"), prechatIntro: $("prechat-intro"), fields: $("prechat-fields"),
  prechatError: $("prechat-error"), start: $("start-chat"), chat: $("chat"),
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
const seen = seenMarker(t("seen")); // under the customer's last message an agent has read
const readReady = { replayed: false, horizons: false }; // reads wait for both: the page then knows the server's
let readSent = -1; // the highest read index this page has asked for
let logOnScreen = false; // the log is in the viewport (an embedded widget can be closed)
const typingPeople = new TypingPeople(() => {
  if (ui.typing.textContent !== typingPeople.text) ui.typing.textContent = typingPeople.text;
}, { one: (names) => t("typing_one", { names }), many: (names) => t("typing_many", { names }), lang });
const typingSender = new TypingSender((conversationSid) => client && client.sendTyping(conversationSid));
const attachments = new AttachmentPicker({
  input: ui.attach, draft: ui.attachment, error: ui.attachError, token: () => session.token,
});

// --- storage -----------------------------------------------------------------------------------------

const SHARED_FIELDS = ["address", "conversation_sid", "identity", "token", "name", "offline", "email"];
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
  fatal(t("ended_title"), t("ended_text"), { restart: true });
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
  const text = { connecting: t("connecting"), reconnecting: t("reconnecting"), offline: t("connection_lost") }[status];
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
  ui.subtitle.textContent = progress.closed ? t("subtitle_ended")
    : names.length ? t("subtitle_chatting", { names: listFormat.format(names) })
    : progress.lastAgentLeft > progress.lastOwnMessage ? t("subtitle_agent_left")
    : progress.lastOwnMessage ? (session.offline ? t("subtitle_offline") : waitingText())
    : t("subtitle_idle");
  if (waitingForAgent() && !session.offline && !standingTimer) standingTimer = setTimeout(pollStanding, 0);
}

// While the customer waits for an agent: its place in the queue and an estimate (GET …/QueueStanding).
const STANDING_POLL_MS = 10000;
let standing = null;
let standingTimer = null;

const listFormat = new Intl.ListFormat(lang, { style: "long", type: "conjunction" });

function waitingText() {
  if (!standing || standing.status !== "waiting" || !standing.position) return t("subtitle_waiting");
  const place = standing.position === 1 ? t("subtitle_next") : t("subtitle_position", { position: standing.position });
  const wait = standing.estimated_wait;
  if (wait === null || wait === undefined) return place;
  return `${place} · ${wait < 60 ? t("wait_under_minute") : t("wait_minutes", { minutes: Math.round(wait / 60) })}`;
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
  return d.toLocaleTimeString(lang, { hour: "2-digit", minute: "2-digit" });
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
  who.textContent = own ? t("you") : author;
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
  status.textContent = state === "sending" ? t("sending") : state === "failed" ? t("not_delivered") : "";
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
  return message.author === "system" ? t("system") : t("agent");
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
        systemLine(t("joined", { name }));
      }
      break;
    }
    case "participant.removed": {
      const p = participants.get(data.participant_sid);
      if (p && p.role === "agent") {
        agentsPresent.delete(data.participant_sid);
        if (!agentsPresent.size) progress.lastAgentLeft = ++progress.order;
        systemLine(t("left", { name: p.name }));
      }
      break;
    }
    case "conversation.state_updated":
      if (data.state_to === "closed") {
        progress.closed = true;
        clearTimeout(renewTimer);
        systemLine(t("conversation_ended"));
        showEnded(t("conversation_ended"));
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
      li.title = err.message || t("not_delivered_detail");
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

let offlineNoted = false;

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
    onSubscribeError: (_stream, err) => fatal(t("unavailable_title"), err.message || t("unavailable_conversation"),
      { restart: true }),
  });
  client.subscribe(session.conversation_sid, session.lastSeq || 0, (frame) => handleEvent(frame), () => {
    readReady.replayed = true;
    markRead();
    // A message left for later: say where the answer will come, until an agent is here.
    if (session && session.offline && !offlineNoted && !agentsPresent.size && !progress.lastAgentLeft) {
      offlineNoted = true;
      systemLine(t("offline_sent", { email: session.email || "" }));
    }
  });
  client.connect();
  scheduleRenewal();
  loadParticipants();
  // Messages typed before a reload that were never acknowledged: resend with the same client_message_id.
  for (const m of [...session.outbox]) send(m.body, m.client_message_id, m.date, m.media || []);
  updateSubtitle();
  ui.message.focus();
}

// --- before the chat: the address's pre-chat form, or its offline form -------------------------------

let chatSettings = null; // GET /flex-api/v2/WebChats/Settings
let formMode = "live"; // "live": start a chat; "offline": leave a message for later
let formTouched = false;
let settingsTimer = null;
const known = identityToken ? knownFromIdentity(claims(identityToken)) : {};

/** What the site's identity token says about the customer (the server checks its signature). */
function knownFromIdentity(c) {
  const out = {};
  if (typeof c.name === "string" && c.name.trim()) out.name = c.name.trim();
  if (typeof c.email === "string" && c.email.trim()) out.email = c.email.trim();
  return out;
}

const AUTOCOMPLETE = { name: "name", email: "email", phone: "tel", tel: "tel" };
const EMAIL_RE = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;
const PHONE_RE = /^\+?[0-9 ()\-.]{5,32}$/;
const FIRST_MESSAGE_MAX = 1600;

function fieldLabel(field) {
  return field.label_key ? t(`label_${field.label_key}`) : field.label;
}

function fieldControl(field) {
  const id = `field-${field.name}`;
  const wrap = document.createElement("div");
  wrap.className = "prechat__field";
  const label = document.createElement("label");
  label.htmlFor = id;
  label.textContent = fieldLabel(field) + (field.required ? "" : ` ${t("optional")}`);
  let input;
  if (field.type === "select") {
    input = document.createElement("select");
    const none = new Option(t("choose"), "");
    input.append(none, ...field.options.map((o) => new Option(o, o)));
  } else if (field.type === "textarea") {
    input = document.createElement("textarea");
    input.rows = 3;
  } else {
    input = document.createElement("input");
    input.type = field.type === "tel" ? "tel" : field.type === "email" ? "email" : "text";
    const auto = AUTOCOMPLETE[field.name] || AUTOCOMPLETE[field.type];
    if (auto) input.autocomplete = auto;
  }
  input.id = id;
  input.name = field.name;
  input.required = field.required;
  if (field.max_length && input.tagName !== "SELECT") input.maxLength = field.max_length;
  input.setAttribute("aria-describedby", "prechat-error");
  if (field.name === "name" && params.get("name")) input.value = params.get("name");
  input.addEventListener("input", () => { formTouched = true; });
  wrap.append(label, input);
  return wrap;
}

function renderForm() {
  const settings = chatSettings;
  const offline = Boolean(settings && settings.availability !== "open" && settings.offline_form);
  formMode = offline ? "offline" : "live";
  const fields = (offline ? settings.offline_form : settings ? settings.pre_chat_form : DEFAULT_FORM)
    .filter((f) => !known[f.name]);
  ui.fields.replaceChildren(...fields.map(fieldControl));
  if (offline) {
    ui.fields.append(fieldControl({ name: "message", label: t("offline_message"), type: "textarea", required: true,
      max_length: FIRST_MESSAGE_MAX }));
    ui.prechatTitle.textContent = settings.availability === "closed" ? t("offline_title_closed") : t("offline_title_busy");
    const opens = settings.next_opening ? ` ${t("offline_opens", { when: openingText(settings.next_opening) })}` : "";
    ui.prechatIntro.textContent = t("offline_intro") + opens;
    ui.start.textContent = t("offline_send");
    ui.subtitle.textContent = t("subtitle_offline");
  } else {
    ui.subtitle.textContent = t("subtitle_idle");
    ui.prechatTitle.textContent = t("prechat_title");
    ui.prechatIntro.textContent = known.name ? t("prechat_intro_known", { name: known.name }) : t("prechat_intro");
    ui.start.textContent = t("start_chat");
  }
  ui.form.dataset.mode = formMode;
  ui.start.disabled = false;
  ui.prechatError.textContent = "";
  formTouched = false;
}

// Used when the settings cannot be read (offline): the name, as before any were configured.
const DEFAULT_FORM = [{ name: "name", label: "", label_key: "name", type: "text", required: true, max_length: 100 }];

function openingText(iso) {
  const at = new Date(iso);
  const sameDay = at.toDateString() === new Date().toDateString();
  return new Intl.DateTimeFormat(lang, sameDay ? { hour: "2-digit", minute: "2-digit" }
    : { weekday: "long", hour: "2-digit", minute: "2-digit" }).format(at);
}

async function loadSettings() {
  try {
    const res = await fetch(`/flex-api/v2/WebChats/Settings?AddressSid=${encodeURIComponent(address)}`,
      { headers: { Accept: "application/json" } });
    if (res.status === 404) return "missing";
    if (res.ok) chatSettings = await res.json();
  } catch {
    /* offline: the default form; starting will say whether the chat works */
  }
  return "ok";
}

async function showPrechat() {
  show(ui.prechat);
  if ((await loadSettings()) === "missing") {
    fatal(t("unavailable_title"), t("unavailable_text"));
    return;
  }
  if (chatSettings && chatSettings.identity_required && !identityToken) {
    fatal(t("unavailable_title"), t("sign_in_required"));
    return;
  }
  renderForm();
  const first = ui.fields.querySelector("input, select, textarea");
  (first || ui.start).focus();
  scheduleSettingsCheck();
}

// The offline form switches to the live one when someone comes on (and back), unless the customer is typing.
function scheduleSettingsCheck() {
  clearTimeout(settingsTimer);
  settingsTimer = setTimeout(async () => {
    if (session || ui.prechat.hidden) return;
    const before = chatSettings && chatSettings.availability;
    await loadSettings();
    if (!formTouched && chatSettings && chatSettings.availability !== before) renderForm();
    scheduleSettingsCheck();
  }, SETTINGS_POLL_MS);
}

/** The form's values, or null after marking the first wrong field. */
function formValues() {
  const values = {};
  let invalid = null;
  for (const input of ui.fields.querySelectorAll("input, select, textarea")) {
    const value = input.value.trim();
    const label = input.labels[0] ? input.labels[0].textContent.replace(` ${t("optional")}`, "") : input.name;
    let problem = "";
    if (!value && input.required) problem = t("field_required", { label });
    else if (value && input.type === "email" && !EMAIL_RE.test(value)) problem = t("field_email");
    else if (value && input.type === "tel" && !PHONE_RE.test(value)) problem = t("field_tel");
    if (problem && !invalid) invalid = { input, problem };
    input.toggleAttribute("aria-invalid", Boolean(problem));
    if (problem) input.setAttribute("aria-invalid", "true");
    if (value) values[input.name] = value;
  }
  if (invalid) {
    ui.prechatError.textContent = invalid.problem;
    invalid.input.focus();
    return null;
  }
  return values;
}

ui.form.addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const values = formValues();
  if (!values) return;
  ui.prechatError.textContent = "";
  const offline = formMode === "offline";
  const { message, ...data } = values;
  const name = known.name || data.name || "";
  const request = new URLSearchParams({ AddressSid: address });
  if (name) request.set("CustomerFriendlyName", name);
  if (Object.keys(data).length) request.set("PreEngagementData", JSON.stringify(data));
  if (offline && message) request.set("Message", message);
  if (identityToken) request.set("IdentityToken", identityToken);
  ui.start.disabled = true;
  ui.start.textContent = offline ? t("offline_sending") : t("starting");
  try {
    const res = await fetch("/flex-api/v2/WebChats", { method: "POST", body: request });
    const body = await res.json().catch(() => ({}));
    if (res.status === 404) {
      fatal(t("unavailable_title"), t("unavailable_text"));
      return;
    }
    if (res.status === 401) {
      fatal(t("unavailable_title"), t("sign_in_required"));
      return;
    }
    if (res.status === 400) {
      ui.prechatError.textContent = body.message || t("start_failed");
      return;
    }
    if (!res.ok) throw new Error(body.message || `HTTP ${res.status}`);
    session = { address, conversation_sid: body.conversation_sid, identity: body.identity, token: body.token,
      name: name || null, offline: Boolean(body.offline), email: known.email || data.email || null,
      lastSeq: 0, events: [], outbox: [] };
    saveSession();
    clearTimeout(settingsTimer);
    startChat();
  } catch (err) {
    ui.prechatError.textContent = t("start_failed");
  } finally {
    ui.start.disabled = false;
    ui.start.textContent = formMode === "offline" ? t("offline_send") : t("start_chat");
  }
});

// --- ending the chat and its transcript ---------------------------------------------------------------

/** The conversation as text: each message with its time, author and attachments, and the system lines. */
function transcriptText() {
  const lines = [`${document.getElementById("widget-title").textContent} — ${new Date().toLocaleString(lang)}`, ""];
  for (const li of ui.log.children) {
    if (li.classList.contains("system")) {
      lines.push(`— ${li.textContent} —`);
      continue;
    }
    if (!li.classList.contains("msg") || li.classList.contains("msg--failed")) continue;
    const when = li.querySelector("time");
    const at = when && when.dateTime ? new Date(when.dateTime).toLocaleString(lang) : "";
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
    systemLine(t("you_ended"));
    showEnded(t("you_ended_thanks"));
    if (client) client.close();
    clearSession();
  } catch (err) {
    ui.endError.textContent = t("end_failed");
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
  fatal(t("unavailable_title"), address ? t("bad_link") : t("missing_address"));
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
    showPrechat();
  }
}
