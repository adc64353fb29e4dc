// Transfers of an accepted chat: the dialog (cold or warm, to an agent or a queue, with an optional note), the
// sender's view of where its transfer stands (waiting / accepted / failed, with the reason), and the receiver's
// view of what it was handed (who transferred it, how, and the note: the task's `transferMeta`). A consult is
// the dialog's third choice: an invite to the same chat, where both agents stay (`consultMeta` on its task).
import { ApiError } from "./api.js";

const STORE = "parley.agent.transfer"; // sessionStorage: the transfer a task's sender is following, per task

/** The interaction channel a task belongs to, from its attributes (null: not a Flex Interactions task). */
export function channelOf(attrs) {
  return attrs && attrs.flexInteractionSid && attrs.flexInteractionChannelSid
    ? { interactionSid: attrs.flexInteractionSid, channelSid: attrs.flexInteractionChannelSid } : null;
}

/**
 * This agent's participant on the channel for `taskSid` (its routing properties name the worker and the
 * task), in one of `statuses`. Null if there is none.
 */
export async function ownParticipant(api, channel, { workerSid, taskSid, statuses }) {
  const participants = await api.participants(channel);
  const mine = participants.filter((p) => p.type === "agent" && statuses.includes(p.status) &&
    p.routing_properties && p.routing_properties.worker_sid === workerSid);
  return mine.find((p) => p.routing_properties.task_sid === taskSid) || (mine.length === 1 ? mine[0] : null);
}

/** What the receiver of a transferred task is told: { mode, by, note } from `transferMeta`, or null. */
export function transferInfo(attrs) {
  const consult = attrs && attrs.consultMeta;
  if (consult && typeof consult === "object") {
    return { mode: "Consult", by: consult.by || "another agent", note: consult.note || "" };
  }
  const meta = attrs && attrs.transferMeta;
  if (!meta || typeof meta !== "object") return null;
  const mode = String(meta.mode || "").toLowerCase() === "warm" ? "Warm" : "Cold";
  return { mode, by: meta.transferredBy || "another agent", note: meta.note || "" };
}

export const transferLine = (info) =>
  info.mode === "Consult" ? `Consult with ${info.by}` : `${info.mode} transfer from ${info.by}`;

// --- the sender's record of its transfer ------------------------------------------------------------

const storeKey = (workerSid, taskSid) => `${STORE}.${workerSid}.${taskSid}`;

export function rememberTransfer(workerSid, taskSid, record) {
  try {
    sessionStorage.setItem(storeKey(workerSid, taskSid), JSON.stringify(record));
  } catch {
    // storage disabled: the status lives for this page only
  }
}

export function recallTransfer(workerSid, taskSid) {
  try {
    const record = JSON.parse(sessionStorage.getItem(storeKey(workerSid, taskSid)) || "null");
    return record && record.sid && record.channel ? record : null;
  } catch {
    return null;
  }
}

export function forgetTransfer(workerSid, taskSid) {
  try {
    sessionStorage.removeItem(storeKey(workerSid, taskSid));
  } catch {
    // nothing to forget
  }
}

/** The sentence the sender sees for its transfer `t` (a record: type, targetName, targetKind, status, …). */
export function transferStatusText(t) {
  const kind = t.type === "warm" ? "Warm" : "Cold";
  const who = t.targetKind === "queue" ? `an agent of the ${t.targetName} queue` : t.targetName;
  if (t.status === "active") {
    return `${kind} transfer to ${t.targetName}: waiting for ${who} to accept.` +
      (t.type === "warm" ? " You keep the chat until then." : "");
  }
  if (t.status === "completed") return `${kind} transfer to ${t.targetName} accepted.`;
  if (t.tookBack) return `You took back the transfer to ${t.targetName}. You still have the chat.`;
  const reason = String(t.reason || "no reason given").replace(/\.$/, "");
  return `Transfer to ${t.targetName} failed: ${reason}.` + (t.type === "warm" ? " You still have the chat." : "");
}

export const transferState = (t) => ({ active: "waiting", completed: "accepted" })[t.status] || "failed";

// --- the dialog -------------------------------------------------------------------------------------

const displayName = (s) => (s ? s.charAt(0).toUpperCase() + s.slice(1) : s);

function workerName(w) {
  try {
    const attrs = typeof w.attributes === "string" ? JSON.parse(w.attributes || "{}") : w.attributes || {};
    if (attrs.full_name) return String(attrs.full_name);
  } catch {
    // no readable attributes: the friendly name will do
  }
  return displayName(w.friendly_name || w.sid);
}

export class TransferDialog {
  /**
   * @param {object} opts api (Api), me ({ workerSid, workspaceSid, identity }), el (the <dialog>),
   *                      onSent(task, record) → the element to focus once the dialog has closed (else the
   *                      button that opened it), onInvited(task, targetName) after a consult invite
   */
  constructor({ api, me, el, onSent, onInvited }) {
    Object.assign(this, { api, me, el, onSent, onInvited });
    const q = (sel) => el.querySelector(sel);
    this.form = q("form");
    this.title = q("#transfer-title");
    this.target = q("#transfer-target");
    this.hint = q("#transfer-target-hint");
    this.note = q("#transfer-note-text");
    this.error = q("#transfer-error");
    this.submit = q("#transfer-submit");
    this.task = null;
    this.opener = null;
    this.targets = new Map(); // WK… | WQ… -> { name, kind }
    this.form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      this.send();
    });
    q("#transfer-cancel").addEventListener("click", () => this.close());
    el.addEventListener("close", () => this.restoreFocus());
    el.addEventListener("cancel", (ev) => {
      if (this.busy) ev.preventDefault(); // Escape while sending: the answer decides
    });
  }

  /** Opens the dialog for `task` (focus goes to the transfer type; it comes back to `opener` on close). */
  async open(task, opener) {
    this.task = task;
    this.opener = opener || document.activeElement;
    this.title.textContent = `Transfer ${task.customerName}`;
    this.form.reset();
    this.error.textContent = "";
    this.setBusy(false);
    this.target.replaceChildren(new Option("Loading agents and queues…", ""));
    this.target.disabled = true;
    this.hint.textContent = "";
    this.el.showModal();
    this.el.querySelector('input[name="transfer-type"]:checked').focus();
    await this.loadTargets();
  }

  close() {
    if (this.el.open) this.el.close();
  }

  restoreFocus() {
    const shown = (el) => el && el.isConnected && (el.checkVisibility ? el.checkVisibility() : !el.hidden);
    const back = shown(this.opener) ? this.opener : null;
    this.opener = null;
    (back || document.getElementById("workspace")).focus();
  }

  /** Agents (but this one; unavailable ones shown, disabled, with their activity) and queues. */
  async loadTargets() {
    const [workers, queues] = await Promise.allSettled([this.api.workers(), this.api.taskQueues()]);
    if (!this.el.open) return;
    this.targets.clear();
    const placeholder = new Option("Choose an agent or a queue", "");
    placeholder.disabled = true;
    placeholder.selected = true;
    const groups = [placeholder];
    const problems = [];
    if (workers.status === "fulfilled") {
      const agents = document.createElement("optgroup");
      agents.label = "Agents";
      const others = workers.value.filter((w) => w.sid !== this.me.workerSid)
        .sort((a, b) => workerName(a).localeCompare(workerName(b)));
      for (const w of others) {
        const name = workerName(w);
        const activity = w.activity_name || "Unknown status";
        const option = new Option(w.available ? `${name} — ${activity}` : `${name} — ${activity} (unavailable)`, w.sid);
        option.disabled = !w.available;
        agents.append(option);
        this.targets.set(w.sid, { name, kind: "worker" });
      }
      if (others.length) groups.push(agents);
    } else {
      problems.push(`Agents could not be loaded: ${workers.reason.message}`);
    }
    if (queues.status === "fulfilled") {
      const group = document.createElement("optgroup");
      group.label = "Queues";
      for (const q of queues.value) {
        group.append(new Option(`${q.friendly_name} queue`, q.sid));
        this.targets.set(q.sid, { name: q.friendly_name, kind: "queue" });
      }
      if (queues.value.length) groups.push(group);
    } else {
      problems.push(`Queues could not be loaded: ${queues.reason.message}`);
    }
    this.target.replaceChildren(...groups);
    this.target.disabled = this.targets.size === 0;
    this.hint.textContent = problems.join(" ") ||
      (this.targets.size ? "Agents who are not available cannot be chosen." : "There is nobody to transfer to.");
  }

  setBusy(busy) {
    this.busy = busy;
    this.submit.disabled = busy;
    this.submit.textContent = busy ? "Transferring…" : "Transfer";
  }

  async send() {
    const task = this.task;
    const type = this.form.elements["transfer-type"].value;
    const to = this.target.value;
    const target = this.targets.get(to);
    this.error.textContent = "";
    if (!task || !target) {
      this.error.textContent = "Choose an agent or a queue to transfer to.";
      this.target.focus();
      return;
    }
    const channel = channelOf(task.attrs);
    if (!channel) {
      this.error.textContent = "This chat cannot be transferred: it is not on an interaction channel.";
      return;
    }
    const note = this.note.value.trim();
    this.setBusy(true);
    if (type === "consult") return this.invite(task, channel, to, target, note);
    try {
      const me = await ownParticipant(this.api, channel, {
        workerSid: this.me.workerSid, taskSid: task.taskSid, statuses: ["active"],
      });
      if (!me) throw new Error("You are no longer an active participant of this chat.");
      const body = { type, from: me.sid, to };
      if (note) body.note = note;
      const sent = await this.api.createTransfer(channel, body);
      const record = {
        sid: sent.sid, channel, type: sent.type || type, to, targetName: target.name, targetKind: target.kind,
        status: sent.status || "active", reason: sent.reason || null, taskSid: sent.task_sid || null, tookBack: false,
      };
      this.setBusy(false);
      this.opener = this.onSent(task, record) || this.opener; // focus goes where the sender's next step is
      this.close();
    } catch (err) {
      this.setBusy(false);
      this.error.textContent = err instanceof ApiError || err instanceof Error ? err.message : String(err);
      this.submit.focus();
    }
  }

  /** A consult: the target is invited into the same chat (a new task on the channel); this agent stays. */
  async invite(task, channel, to, target, note) {
    const attributes = { ...task.attrs, consultMeta: { by: this.me.identity, note: note || null } };
    for (const key of ["flexChannelInviteSid", "transferMeta", "transferTargetSid", "transferTargetType"]) {
      delete attributes[key];
    }
    const properties = { workspace_sid: this.me.workspaceSid, attributes };
    properties[target.kind === "queue" ? "queue_sid" : "worker_sid"] = to;
    try {
      await this.api.createInvite(channel, { properties });
      this.setBusy(false);
      this.close();
      if (this.onInvited) this.onInvited(task, target.name);
    } catch (err) {
      this.setBusy(false);
      this.error.textContent = err instanceof Error ? err.message : String(err);
      this.submit.focus();
    }
  }
}
