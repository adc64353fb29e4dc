// The customer context panel beside a conversation (docs/agent-desktop.md "Customer details"): who the
// customer is (from the task's attributes: channel, address, email, a site-verified id, what the pre-chat
// form collected), the agents' private notes on the conversation, and the customer's earlier conversations.
import { channelLabel } from "./supervisor.js";

const NOTES_POLL_MS = 15000; // other agents' notes (a consult, a supervisor) show up within this

function el(tag, props = {}, ...children) {
  const node = Object.assign(document.createElement(tag), props);
  node.append(...children.filter((c) => c !== null && c !== undefined && c !== false));
  return node;
}

function when(iso) {
  const d = new Date(iso);
  return d.toLocaleString([], { dateStyle: "medium", timeStyle: "short" });
}

const LABELS = { name: "Name", email: "Email", phone: "Phone" };
const label = (key) => LABELS[key] || key.replace(/_/g, " ").replace(/^\w/, (c) => c.toUpperCase());

export class ContextPanel {
  /** `root`: the panel's <aside>; `api`: the desktop's Api; `onError(status, message)`. */
  constructor(root, api, { onError = () => {}, onClose = () => {} } = {}) {
    this.root = root;
    this.api = api;
    this.onError = onError;
    this.onClose = onClose;
    this.shown = null; // { conversationSid, attrs, customerName, channelType, customerAddress, readOnly }
    this.notes = new Map(); // conversationSid -> notes
    this.history = new Map(); // conversationSid -> earlier conversations (null: loading)
    this.timer = null;
    this.me = null;
    this.build();
  }

  build() {
    this.details = el("dl", { className: "context__details" });
    this.prechat = el("dl", { className: "context__details" });
    this.prechatSection = el("section", { className: "context__section", hidden: true },
      el("h3", { textContent: "Pre-chat form" }), this.prechat);
    this.noteList = el("ul", { className: "notes", id: "notes-list" });
    this.noteList.setAttribute("aria-live", "polite");
    this.noteText = el("textarea", { id: "note-text", rows: 2, maxLength: 4096, placeholder: "Only agents see notes" });
    const noteLabel = el("label", { htmlFor: "note-text", className: "sr-only", textContent: "Private note" });
    this.noteError = el("p", { className: "field-error", role: "alert" });
    this.noteForm = el("form", { className: "notes__form" }, noteLabel, this.noteText, this.noteError,
      el("button", { type: "submit", className: "button button--small", textContent: "Add note" }));
    this.noteForm.addEventListener("submit", (ev) => {
      ev.preventDefault();
      this.addNote();
    });
    this.noteText.addEventListener("keydown", (ev) => {
      if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey)) this.noteForm.requestSubmit();
    });
    this.historyList = el("ul", { className: "history" });
    const close = el("button", { type: "button", className: "button button--small button--secondary context__close",
      textContent: "Close" });
    close.setAttribute("aria-label", "Close customer details");
    close.addEventListener("click", () => this.onClose());
    this.root.append(
      el("div", { className: "context__head" }, el("h2", { className: "context__title", textContent: "Customer" }), close),
      el("section", { className: "context__section" }, this.details),
      this.prechatSection,
      el("section", { className: "context__section", ariaLabel: "Private notes" },
        el("h3", { textContent: "Private notes" }), this.noteList, this.noteForm),
      el("section", { className: "context__section", ariaLabel: "Earlier conversations" },
        el("h3", { textContent: "Earlier conversations" }), this.historyList),
    );
  }

  /** Shows `task`'s customer (or nothing). `me`: { identity, role } for "you" and who may remove a note. */
  show(task, me) {
    this.me = me;
    const sid = task && task.conversationSid;
    const changed = !this.shown || !task || this.shown.conversationSid !== sid;
    this.shown = task ? { ...task } : null;
    this.root.hidden = !task || !sid;
    if (!task || !sid) {
      clearTimeout(this.timer);
      return;
    }
    this.renderDetails();
    if (changed) {
      this.noteError.textContent = "";
      this.renderNotes();
      this.renderHistory();
      this.loadNotes();
      if (!this.history.has(sid)) this.loadHistory(sid);
    }
  }

  renderDetails() {
    const t = this.shown;
    const attrs = t.attrs || {};
    const customers = attrs.customers || {};
    const rows = [
      ["Name", t.customerName],
      ["Channel", channelLabel(t.channelType)],
      ["Email", customers.email],
      // A phone channel's address (SMS, WhatsApp, Messenger); a web chat's identity says nothing to a person.
      ["Address", t.channelType && t.channelType !== "web" ? (t.customerAddress || "").replace(/^(whatsapp|messenger):/, "") : null],
      ["Customer ID", customers.customer_id],
      ["Queue", t.queueName],
    ].filter(([, v]) => v);
    const items = rows.flatMap(([k, v]) => [el("dt", { textContent: k }), el("dd", { textContent: v })]);
    if (customers.customer_id) items.push(el("dt", { textContent: "Identity" }), el("dd", {}, el("span", { className: "chip chip--verified", textContent: "Verified by the site" })));
    if (attrs.offline) items.push(el("dt", { textContent: "Started" }), el("dd", {}, el("span", { className: "chip chip--offline", textContent: "Left a message while we were away" })));
    this.details.replaceChildren(...items);
    const pre = attrs.pre_engagement_data && typeof attrs.pre_engagement_data === "object" ? attrs.pre_engagement_data : {};
    const entries = Object.entries(pre).filter(([k, v]) => k !== "name" && k !== "email" && v !== "" && v !== null);
    this.prechatSection.hidden = !entries.length;
    this.prechat.replaceChildren(...entries.flatMap(([k, v]) => [el("dt", { textContent: label(k) }),
      el("dd", { textContent: typeof v === "string" ? v : JSON.stringify(v) })]));
  }

  // --- notes -----------------------------------------------------------------------------------------

  async loadNotes() {
    clearTimeout(this.timer);
    const sid = this.shown && this.shown.conversationSid;
    if (!sid) return;
    try {
      this.notes.set(sid, await this.api.notes(sid));
      if (this.shown && this.shown.conversationSid === sid) this.renderNotes();
    } catch (err) {
      if (err.status === 401) this.onError(401, err.message);
    }
    if (this.shown && this.shown.conversationSid === sid && !document.hidden) {
      this.timer = setTimeout(() => this.loadNotes(), NOTES_POLL_MS);
    } else if (this.shown && this.shown.conversationSid === sid) {
      this.timer = setTimeout(() => this.loadNotes(), NOTES_POLL_MS * 2);
    }
  }

  renderNotes() {
    const sid = this.shown.conversationSid;
    const list = this.notes.get(sid);
    if (!list) {
      this.noteList.replaceChildren(el("li", { className: "empty", textContent: "Loading…" }));
      return;
    }
    if (!list.length) {
      this.noteList.replaceChildren(el("li", { className: "empty", textContent: "No notes yet." }));
      return;
    }
    const mayRemoveAny = this.me && this.me.role === "supervisor";
    this.noteList.replaceChildren(...list.map((n) => {
      const own = this.me && n.author === this.me.identity;
      const remove = own || mayRemoveAny
        ? el("button", { type: "button", className: "link-button", textContent: "Remove" }) : null;
      if (remove) {
        remove.setAttribute("aria-label", `Remove note: ${n.body.slice(0, 40)}`);
        remove.addEventListener("click", () => this.removeNote(n));
      }
      return el("li", { className: "note" },
        el("p", { className: "note__body", textContent: n.body }),
        el("p", { className: "note__meta" }, `${own ? "You" : n.author} · ${when(n.date_created)}`, remove ? " · " : "", remove));
    }));
  }

  async addNote() {
    const text = this.noteText.value.trim();
    const sid = this.shown && this.shown.conversationSid;
    if (!text || !sid) {
      this.noteError.textContent = text ? "" : "Write the note first.";
      return;
    }
    this.noteError.textContent = "";
    const button = this.noteForm.querySelector("button");
    button.disabled = true;
    try {
      const note = await this.api.addNote(sid, text);
      this.notes.set(sid, [...(this.notes.get(sid) || []), note]);
      this.noteText.value = "";
      this.renderNotes();
    } catch (err) {
      this.noteError.textContent = `The note was not saved: ${err.message}`;
      if (err.status === 401) this.onError(401, err.message);
    } finally {
      button.disabled = false;
    }
  }

  async removeNote(note) {
    const sid = this.shown && this.shown.conversationSid;
    try {
      await this.api.deleteNote(sid, note.sid);
      this.notes.set(sid, (this.notes.get(sid) || []).filter((n) => n.sid !== note.sid));
      this.renderNotes();
      this.noteText.focus();
    } catch (err) {
      this.noteError.textContent = `The note was not removed: ${err.message}`;
    }
  }

  // --- earlier conversations ---------------------------------------------------------------------------

  async loadHistory(sid) {
    this.history.set(sid, null);
    try {
      this.history.set(sid, await this.api.customerHistory(sid));
    } catch (err) {
      this.history.set(sid, []);
      if (err.status === 401) this.onError(401, err.message);
    }
    if (this.shown && this.shown.conversationSid === sid) this.renderHistory();
  }

  renderHistory() {
    const list = this.history.get(this.shown.conversationSid);
    if (!list) {
      this.historyList.replaceChildren(el("li", { className: "empty", textContent: "Loading…" }));
      return;
    }
    if (!list.length) {
      this.historyList.replaceChildren(el("li", { className: "empty", textContent: "No earlier conversations." }));
      return;
    }
    this.historyList.replaceChildren(...list.map((c) => el("li", { className: "history__item" },
      el("p", { className: "history__when" }, when(c.date_created), ` · ${c.messages} message${c.messages === 1 ? "" : "s"}`,
        c.state === "closed" ? "" : el("span", { className: "chip chip--assigned", textContent: c.state })),
      c.last_message ? el("p", { className: "history__last", textContent: `“${c.last_message}”` }) : null)));
  }
}
