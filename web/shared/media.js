// Message media (the Media Content Service, docs/agent-desktop.md "Attachments"): what may be uploaded, the
// upload itself, the composer's attachment (one file, uploaded as soon as it is chosen, sent with the next
// message), and the attachments of a message in its bubble. The content needs the page's token in a header,
// so it is fetched with fetch() and shown through blob URLs, revoked when the bubble goes. Used by the agent
// desktop and the web chat.

/** What the server accepts (domain/limits.py MEDIA_CONTENT_TYPES, MEDIA_MAX_BYTES, MEDIA_FILENAME_LIMIT). */
export const MEDIA_TYPES = new Set([
  "image/jpeg", "image/png", "image/gif", "image/webp", "audio/mpeg", "audio/ogg", "audio/mp4", "video/mp4",
  "application/pdf", "text/plain",
]);
export const MEDIA_MAX_BYTES = 16 * 1024 * 1024;
const FILENAME_LIMIT = 256;
export const MEDIA_ACCEPT = [...MEDIA_TYPES].join(",");
const ACCEPTED_TEXT = "pictures (JPEG, PNG, GIF, WebP), audio (MP3, OGG, M4A), MP4 video, PDF and plain text";

// What browsers call some of the accepted types, and the type of a file the browser could not name.
const ALIASES = { "image/jpg": "image/jpeg", "image/pjpeg": "image/jpeg", "audio/mp3": "audio/mpeg",
  "audio/x-m4a": "audio/mp4", "audio/m4a": "audio/mp4", "application/x-pdf": "application/pdf" };
const BY_EXTENSION = { jpg: "image/jpeg", jpeg: "image/jpeg", png: "image/png", gif: "image/gif",
  webp: "image/webp", mp3: "audio/mpeg", ogg: "audio/ogg", oga: "audio/ogg", opus: "audio/ogg", m4a: "audio/mp4",
  mp4: "video/mp4", pdf: "application/pdf", txt: "text/plain", text: "text/plain", log: "text/plain" };

// Every word this module shows, in English; a page in another language hands in its own (setMediaWords).
const MEDIA_WORDS = {
  media_this_file: "This file",
  media_not_accepted: "“{name}” can't be sent: only {types} files are accepted.",
  media_too_large: "“{name}” is too large to send ({size}): files can be at most {max}.",
  media_empty: "“{name}” is empty.",
  media_read_failed: "The conversation could not be read.",
  media_network_error: "Network error: the file could not be uploaded.",
  media_upload_failed: "The upload failed (HTTP {status}).",
  media_still_uploading: "Still uploading — send when it is ready",
  media_uploading: "Uploading…",
  media_ready: "Ready to send",
  media_remove: "Remove",
  media_remove_named: "Remove {name}",
  media_attachments: "Attachments",
  media_attachment: "Attachment",
  media_picture: "Picture",
  media_loading: "Loading…",
  media_view_full: "View {name} full size",
  media_download: "Download {name} ({size})",
};
const english = (key, vars = {}) =>
  MEDIA_WORDS[key].replace(/\{(\w+)\}/g, (whole, name) => (name in vars ? String(vars[name]) : whole));
let say = english;

/** Words the module's messages in another language: `t(key, vars)` (the web chat's translator, strings.js);
 *  a key it does not know (it answers the key itself) stays in English. */
export function setMediaWords(t) {
  say = (key, vars = {}) => {
    const text = t(key, vars);
    return text === key ? english(key, vars) : text;
  };
}

const units = ["bytes", "KB", "MB", "GB"];
/** "820 bytes", "1.4 KB", "12 MB". */
export function formatSize(bytes) {
  let n = Number(bytes) || 0;
  let unit = 0;
  while (n >= 1024 && unit < units.length - 1) {
    n /= 1024;
    unit += 1;
  }
  if (unit === 0) return n === 1 ? "1 byte" : `${n} bytes`;
  return `${n >= 10 ? Math.round(n) : Math.round(n * 10) / 10} ${units[unit]}`;
}

/** The content type a file is uploaded with ("" when it has none the server takes). */
export function mediaTypeOf(file) {
  const declared = String(file.type || "").split(";")[0].trim().toLowerCase();
  const type = ALIASES[declared] || declared;
  if (MEDIA_TYPES.has(type)) return type;
  if (declared && declared !== "application/octet-stream") return type;
  const ext = (String(file.name || "").match(/\.([^.]+)$/) || [])[1];
  return (ext && BY_EXTENSION[ext.toLowerCase()]) || type;
}

/** What the server would refuse, said before anything is sent: an error message, or "" when it may go. */
export function refusal(file) {
  const name = file.name || say("media_this_file");
  const type = mediaTypeOf(file);
  if (!MEDIA_TYPES.has(type)) return say("media_not_accepted", { name, types: ACCEPTED_TEXT });
  if (file.size > MEDIA_MAX_BYTES) {
    return say("media_too_large", { name, size: formatSize(file.size), max: formatSize(MEDIA_MAX_BYTES) });
  }
  if (file.size === 0) return say("media_empty", { name });
  return "";
}

/** A file name the server takes: no "/", at most FILENAME_LIMIT characters (the extension kept). */
function uploadName(name) {
  const plain = String(name || "attachment").replace(/[/\\\0]/g, "_");
  if (plain.length <= FILENAME_LIMIT) return plain;
  const ext = (plain.match(/\.[^.]{1,16}$/) || [""])[0];
  return plain.slice(0, FILENAME_LIMIT - ext.length) + ext;
}

export class MediaError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

/** The request headers of the token (the same ones the REST calls of the apps use). */
const authorized = (token, more = {}) => ({ "X-Twilio-Token": token, Accept: "application/json", ...more });

const services = new Map(); // conversation sid -> Promise<chat service sid>

/** The Conversation Service (IS…) a conversation is in: from its resource, asked once per page. */
export function serviceOf(conversationSid, token) {
  if (!services.has(conversationSid)) {
    const asked = fetch(`/conversations/v1/Conversations/${conversationSid}`, { headers: authorized(token) })
      .then(async (res) => {
        const body = await res.json().catch(() => ({}));
        if (!res.ok || !body.chat_service_sid) {
          throw new MediaError(res.status, body.message || say("media_read_failed"));
        }
        return body.chat_service_sid;
      });
    asked.catch(() => services.delete(conversationSid)); // asked again next time
    services.set(conversationSid, asked);
  }
  return services.get(conversationSid);
}

/** A message says which service it is in: no need to ask. */
export function knownService(conversationSid, serviceSid) {
  if (conversationSid && serviceSid && !services.has(conversationSid)) {
    services.set(conversationSid, Promise.resolve(serviceSid));
  }
}

const uploaded = new Map(); // media sid -> the File this page uploaded (shown without downloading it again)

/** Uploads one file; resolves with the Media resource, rejects with a MediaError (the server's message). */
export async function uploadMedia({ serviceSid, file, token }) {
  const type = mediaTypeOf(file);
  const url = `/mcs/v1/Services/${serviceSid}/Media?Filename=${encodeURIComponent(uploadName(file.name))}`;
  let res;
  try {
    res = await fetch(url, { method: "POST", body: file, headers: authorized(token, { "Content-Type": type }) });
  } catch {
    throw new MediaError(0, say("media_network_error"));
  }
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw new MediaError(res.status, body.message || say("media_upload_failed", { status: res.status }));
  uploaded.set(body.sid, file);
  return body;
}

/**
 * The composer's attachment: a labelled file input, the line that shows the chosen file (name, size, upload
 * state, a Remove button) and an alert for what was refused. One attachment per conversation (`key`): the
 * agent desktop's reply box writes in whichever chat is selected.
 */
export class AttachmentPicker {
  /**
   * @param {object} opts
   * @param {HTMLInputElement} opts.input   the <input type="file">
   * @param {HTMLElement} opts.draft        where the chosen file is shown
   * @param {HTMLElement} opts.error        a role=alert element for refusals
   * @param {() => string} opts.token       the page's access token
   * @param {(status: number, message: string) => void} [opts.onFailed]  an upload the server refused
   * @param {() => void} [opts.onChange]    the attachment changed (chosen, uploaded, removed)
   */
  constructor({ input, draft, error, token, onFailed = () => {}, onChange = () => {} }) {
    Object.assign(this, { input, draftEl: draft, errorEl: error, token, onFailed, onChange });
    this.drafts = new Map(); // key -> { file, name, size, state: "uploading" | "ready", media, done }
    this.key = null;
    input.accept = MEDIA_ACCEPT;
    input.disabled = true; // until show() names the conversation
    draft.classList.add("draft");
    draft.hidden = true;
    draft.innerHTML = `<svg class="draft__icon" viewBox="0 0 24 24" width="18" height="18" aria-hidden="true">
        <path fill="currentColor" d="M14 2H6a2 2 0 0 0-2 2v16a2 2 0 0 0 2 2h12a2 2 0 0 0 2-2V8l-6-6zm0 2.5L17.5 8H14V4.5z"/></svg>
      <span class="draft__name"></span><span class="draft__size"></span>
      <span class="draft__state" role="status"></span>
      <button type="button" class="draft__remove"></button>`;
    this.ui = {
      name: draft.querySelector(".draft__name"), size: draft.querySelector(".draft__size"),
      state: draft.querySelector(".draft__state"), remove: draft.querySelector(".draft__remove"),
    };
    input.addEventListener("change", () => this.chosen());
    this.ui.remove.addEventListener("click", () => {
      this.drafts.delete(this.key);
      this.render();
      this.onChange();
      this.input.focus();
    });
  }

  /** Which conversation the composer writes in now (null: none). */
  show(key) {
    this.input.disabled = !key;
    if (key === this.key) return;
    this.key = key;
    this.say("");
    this.render();
  }

  /** The attachment of conversation `key` (the shown one by default), or null. */
  current(key = this.key) {
    return this.drafts.get(key) || null;
  }

  /** The ready attachment of `key`, taken off the composer to be sent: its Media resources ([] if none). */
  take(key = this.key) {
    this.say(""); // a refusal is old news once something is sent
    const draft = this.drafts.get(key);
    if (!draft || draft.state !== "ready") return [];
    this.drafts.delete(key);
    if (key === this.key) this.render();
    return [draft.media];
  }

  /** Sending waits for the upload: say so. */
  stillUploading() {
    this.ui.state.textContent = say("media_still_uploading");
  }

  say(text) {
    if (this.errorEl.textContent !== text) this.errorEl.textContent = text;
  }

  async chosen() {
    const file = this.input.files && this.input.files[0];
    this.input.value = ""; // the same file can be chosen again
    const key = this.key;
    if (!file || !key) return;
    const refused = refusal(file);
    this.say(refused);
    if (refused) return;
    const draft = { file, name: file.name, size: file.size, state: "uploading", media: null };
    this.drafts.set(key, draft);
    this.render();
    this.onChange();
    try {
      const serviceSid = await serviceOf(key, this.token());
      draft.media = await uploadMedia({ serviceSid, file, token: this.token() });
      draft.state = "ready";
    } catch (err) {
      if (this.drafts.get(key) === draft) this.drafts.delete(key);
      this.say(`“${file.name}” was not uploaded: ${err.message}`);
      this.onFailed(err.status || 0, err.message);
    }
    if (this.key === key) this.render();
    this.onChange();
  }

  render() {
    const draft = this.current();
    this.draftEl.hidden = !draft;
    if (!draft) {
      this.ui.state.textContent = "";
      return;
    }
    this.draftEl.dataset.state = draft.state;
    this.ui.name.textContent = draft.name;
    this.ui.size.textContent = formatSize(draft.size);
    this.ui.remove.textContent = say("media_remove");
    this.ui.remove.setAttribute("aria-label", say("media_remove_named", { name: draft.name }));
    const state = draft.state === "uploading" ? say("media_uploading") : say("media_ready");
    if (this.ui.state.textContent !== state) this.ui.state.textContent = state;
  }
}

// --- attachments in a bubble ---------------------------------------------------------------------------

const urls = new WeakMap(); // attachments <ul> -> blob URLs it made
const contentPath = (serviceSid, sid) => `/mcs/v1/Services/${serviceSid}/Media/${sid}/Content`;
const isImage = (item) => /^image\//.test(item.content_type || "");

/** The short text of a message's attachments, e.g. for a task's preview: "📎 receipt.png". */
export function mediaSummary(media) {
  if (!media || !media.length) return "";
  const first = media[0].filename || "attachment";
  return `📎 ${first}${media.length > 1 ? ` +${media.length - 1}` : ""}`;
}

/**
 * The attachments of a message (its `media`, or a sent message's Media resources), as a list: pictures as
 * thumbnails that open full size, other files as a download link with name and size. Null if none.
 */
export function attachmentList(media, { serviceSid, token }) {
  if (!media || !media.length) return null;
  const ul = document.createElement("ul");
  ul.className = "attachments";
  ul.setAttribute("aria-label", media.length > 1 ? say("media_attachments") : say("media_attachment"));
  urls.set(ul, []);
  for (const item of media) ul.append(attachmentItem(ul, item, serviceSid || item.service_sid, token));
  return ul;
}

function attachmentItem(ul, item, serviceSid, token) {
  const li = document.createElement("li");
  const name = item.filename || (isImage(item) ? say("media_picture") : say("media_attachment"));
  li.className = `attachment ${isImage(item) ? "attachment--image" : "attachment--file"}`;
  li.dataset.sid = item.sid;
  li.dataset.state = "loading";
  const state = document.createElement("span");
  state.className = "attachment__state";
  state.textContent = say("media_loading");
  let show;
  if (isImage(item)) {
    const open = document.createElement("button");
    open.type = "button";
    open.className = "attachment__open";
    open.title = say("media_view_full", { name });
    open.disabled = true;
    const img = document.createElement("img");
    img.className = "attachment__thumb";
    img.alt = name;
    open.append(img);
    li.append(open, state);
    show = (url) => {
      img.src = url;
      open.disabled = false;
      open.addEventListener("click", () => viewImage(url, name, open));
    };
  } else {
    const link = document.createElement("a");
    link.className = "attachment__link";
    link.download = name;
    link.setAttribute("aria-disabled", "true");
    const label = document.createElement("span");
    label.className = "attachment__name";
    label.textContent = name;
    const size = document.createElement("span");
    size.className = "attachment__size";
    size.textContent = formatSize(item.size);
    link.append(fileIcon(), label, size);
    link.title = say("media_download", { name, size: formatSize(item.size) });
    li.append(link, state);
    show = (url) => {
      link.href = url;
      link.removeAttribute("aria-disabled");
    };
  }
  contentOf(item, serviceSid, token).then(
    (blob) => {
      if (urls.get(ul) === null) return; // released before it arrived
      const url = URL.createObjectURL(blob);
      urls.get(ul).push(url);
      show(url);
      li.dataset.state = "ready";
      state.textContent = "";
    },
    (err) => {
      li.dataset.state = "failed";
      state.textContent = `${name} could not be loaded (${err.message})`;
    },
  );
  return li;
}

async function contentOf(item, serviceSid, token) {
  const mine = uploaded.get(item.sid);
  if (mine) return mine;
  if (!serviceSid) throw new Error("no service");
  let res;
  try {
    res = await fetch(contentPath(serviceSid, item.sid), { headers: { "X-Twilio-Token": token } });
  } catch {
    throw new Error("network error");
  }
  if (!res.ok) {
    const body = await res.json().catch(() => ({}));
    throw new Error(body.message ? body.message.replace(/\.$/, "") : `HTTP ${res.status}`);
  }
  return res.blob();
}

function fileIcon() {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("width", "20");
  svg.setAttribute("height", "20");
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("class", "attachment__icon");
  const path = document.createElementNS(ns, "path");
  path.setAttribute("fill", "currentColor");
  path.setAttribute("d", "M14 2H6a2 2 0 0 0-2 2v16a2 2 0 0 0 2 2h12a2 2 0 0 0 2-2V8l-6-6zm0 2.5L17.5 8H14V4.5zM12 18l-4-4h2.5v-3h3v3H16l-4 4z");
  svg.append(path);
  return svg;
}

/** Revokes the blob URLs of the attachments under `root` (a bubble, a transcript) before it goes. */
export function releaseAttachments(root) {
  if (!root) return;
  const lists = root.matches && root.matches(".attachments") ? [root] : root.querySelectorAll(".attachments");
  for (const ul of lists) {
    for (const url of urls.get(ul) || []) URL.revokeObjectURL(url);
    urls.set(ul, null);
  }
}

// --- the viewer ------------------------------------------------------------------------------------------

let viewer = null;

/** A picture full size in a modal dialog (Escape or Close closes it; focus goes back to the thumbnail). */
function viewImage(url, name, opener) {
  if (!viewer) {
    viewer = document.createElement("dialog");
    viewer.className = "viewer";
    viewer.setAttribute("aria-labelledby", "viewer-title");
    viewer.innerHTML = `<div class="viewer__bar"><h2 id="viewer-title" class="viewer__title"></h2>
        <a class="viewer__download">Download</a>
        <button type="button" class="viewer__close">Close</button></div>
      <img class="viewer__image" alt="">`;
    viewer.querySelector(".viewer__close").addEventListener("click", () => viewer.close());
    viewer.addEventListener("click", (ev) => {
      if (ev.target === viewer) viewer.close(); // a click on the backdrop
    });
    viewer.addEventListener("close", () => {
      if (viewer.opener && viewer.opener.isConnected) viewer.opener.focus();
    });
    document.body.append(viewer);
  }
  viewer.opener = opener;
  viewer.querySelector(".viewer__title").textContent = name;
  const img = viewer.querySelector(".viewer__image");
  img.src = url;
  img.alt = name;
  const download = viewer.querySelector(".viewer__download");
  download.href = url;
  download.download = name;
  viewer.showModal();
  viewer.querySelector(".viewer__close").focus();
}
