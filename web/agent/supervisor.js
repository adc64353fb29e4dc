// Supervisor view: the workspace's live tasks (pending, reserved, assigned, wrapping), refreshed every 5 s
// together with the overview panels (queues.js, agents.js). Selecting a task with a conversation opens its
// transcript read-only (supervisors may follow any conversation); "Join chat" adds the supervisor to the
// conversation, and then it can write to the customer and the agent. A reserved, assigned or wrapping task
// names its agent (from the task's live reservation) and explains, under "Why this agent?", the reservation's
// routing decision record: the step, the candidates considered, why each was excluded, why the winner won.
import { parseJson } from "./api.js";

const REFRESH_MS = 5000;

export const channelLabel = (type) =>
  ({ web: "Web chat", chat: "Chat", sms: "SMS", whatsapp: "WhatsApp", messenger: "Messenger", email: "Email" })[type] ||
  (type ? type.charAt(0).toUpperCase() + type.slice(1) : "Chat");

export const statusLabel = (s) => (s ? s.charAt(0).toUpperCase() + s.slice(1) : "");

/** A duration in seconds as the lists show it: 42s, 5m, 1h 20m. */
export function ageLabel(seconds) {
  seconds = Math.max(0, Math.floor(Number(seconds) || 0));
  if (seconds < 60) return `${seconds}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m`;
  return `${Math.floor(seconds / 3600)}h ${Math.floor((seconds % 3600) / 60)}m`;
}

/** Sets an element's text only when it changes (a live region then announces real changes only). */
export function setText(el, text) {
  if (el.textContent !== text) el.textContent = text;
}

export const clockTime = (date) =>
  date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });

/** A monitored task as the desktop's conversation panel understands it. */
export function monitoredTask(task) {
  const attrs = parseJson(task.attributes);
  return {
    taskSid: task.sid,
    conversationSid: attrs.conversationSid || null,
    // The interaction channel a supervisor joins (Flex's task attributes).
    channel: attrs.flexInteractionSid && attrs.flexInteractionChannelSid
      ? { interactionSid: attrs.flexInteractionSid, channelSid: attrs.flexInteractionChannelSid } : null,
    customerName: attrs.customerName || attrs.name || "Customer",
    channelType: attrs.channelType || task.task_channel_unique_name,
    taskChannel: task.task_channel_unique_name || null,
    queueName: task.task_queue_friendly_name,
    status: task.assignment_status,
    age: task.age,
    routingStatus: task.routing_status || null, // Parley extension: why a pending task is still waiting
    queueSid: task.task_queue_sid,
  };
}

/** The routing sentence with the task's queue SID replaced by the queue's name (the SID stays in the title). */
export function waitingReason(t) {
  if (!t.routingStatus) return null;
  return t.queueSid && t.queueName ? t.routingStatus.split(t.queueSid).join(`“${t.queueName}”`) : t.routingStatus;
}

// --- the decision record -------------------------------------------------------------------------------

// The reservation that put a task where it is, by the task's status (the first status that has one).
const RESERVATION_OF = { reserved: ["pending"], assigned: ["accepted"], wrapping: ["wrapping", "accepted"] };

const ISO_TIME = /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)/g;

/** A record's sentence with its timestamps in local time ("idle since 14:03:22"). */
const readableTimes = (text) => String(text || "").replace(ISO_TIME, (iso) => {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : clockTime(date);
});

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

/**
 * The routing decision of `reservation` as sentences: who got the task and why, the step, and the other
 * candidates with the reason each was passed over. nameOf(workerSid, friendlyName) names a worker.
 */
export function decisionView(reservation, { status, nameOf, queueName }) {
  const body = el("div", "decision__body");
  const decision = reservation && reservation.routing_decision;
  if (!decision) {
    body.append(el("p", "decision__none", "No routing decision was recorded for this reservation."));
    return body;
  }
  const chosen = decision.chosen || { worker_sid: reservation.worker_sid, friendly_name: reservation.worker_name };
  const winner = nameOf(chosen.worker_sid, chosen.friendly_name);
  const lead = el("p", "decision__chosen");
  lead.append(el("strong", "", winner), status === "reserved" ? " is being offered this task" : " got this task");
  if (chosen.why) lead.append(`: ${readableTimes(chosen.why)}.`);
  else lead.append(".");
  body.append(lead);

  const step = decision.step || {};
  const where = [];
  const queue = step.queue_sid ? queueName(step.queue_sid) : null;
  if (queue) where.push(`${queue} queue`);
  where.push(step.filter_index === null || step.filter_index === undefined ? "default filter"
    : `filter “${step.filter_name || step.filter_index + 1}”`);
  if (Number.isInteger(step.target_index)) where.push(`target ${step.target_index + 1}`);
  if (step.expression) where.push(`expression ${step.expression}`);
  if (step.order_by && step.order_by.length) where.push(`ordered by ${step.order_by.join(", ")}`);
  const total = Number.isInteger(decision.candidates_total) ? decision.candidates_total
    : (decision.candidates || []).length;
  const counted = Number.isInteger(decision.eligible) ? `${decision.eligible} of ${total} queue members eligible` : "";
  body.append(el("p", "decision__step", [where.join(", "), counted].filter(Boolean).join(" · ")));

  const others = (decision.candidates || []).filter((c) => c.worker_sid !== chosen.worker_sid);
  const more = Math.max(0, total - (decision.candidates || []).length);
  if (!others.length && !more) {
    body.append(el("p", "decision__label", "No other candidates."));
    return body;
  }
  const label = el("p", "decision__label", "Other candidates:");
  label.id = `decision-others-${reservation.sid}`;
  const list = el("ul", "decision__others");
  list.setAttribute("aria-labelledby", label.id);
  for (const c of others) {
    const li = el("li", "decision__candidate");
    li.append(el("strong", "", nameOf(c.worker_sid, c.friendly_name)), ": ",
      c.excluded_because ? readableTimes(c.excluded_because) : `eligible, ranked below ${winner}`);
    list.append(li);
  }
  if (more) list.append(el("li", "decision__candidate", `and ${more} more not listed`));
  body.append(label, list);
  return body;
}

// --- the view ------------------------------------------------------------------------------------------

export class SupervisorView {
  /**
   * @param {object} opts api (Api), list / empty / count / updated (elements), onOpen(task), isSelected(taskSid),
   *                      onError(text), onRefresh() after each successful refresh; panels: objects with
   *                      load() (never rejects) and render({ tasks }), refreshed with the list; agents: the
   *                      AgentsPanel (names the workers), queueName(sid) names a queue
   */
  constructor({ api, list, empty, count, updated, onOpen, isSelected, onError, onRefresh, panels = [], agents = null }) {
    Object.assign(this, { api, list, empty, count, updated, onOpen, isSelected, onError, onRefresh, panels, agents });
    this.tasks = [];
    this.timer = null;
    this.running = false;
    this.failed = false;
    this.items = new Map(); // WT… -> the entry's elements
    this.reservations = new Map(); // "WT…:status" -> { reservation } | { error }
  }

  start() {
    this.running = true;
    this.refresh();
  }

  stop() {
    this.running = false;
    clearTimeout(this.timer);
  }

  /** The tasks and every panel, read at once and shown together; the next refresh is 5 s after this one. */
  async refresh() {
    clearTimeout(this.timer);
    const [tasks] = await Promise.allSettled([this.api.activeTasks(), ...this.panels.map((p) => p.load())]);
    if (tasks.status === "fulfilled") {
      this.tasks = tasks.value.map(monitoredTask);
      this.failed = false;
      this.updated.textContent = `Updated ${clockTime(new Date())}`;
      await this.loadReservations();
      if (this.onRefresh) this.onRefresh();
    } else {
      if (!this.failed && this.onError) this.onError(`Could not load tasks: ${tasks.reason.message}`);
      this.failed = true;
      this.updated.textContent = "Update failed — retrying";
    }
    for (const panel of this.panels) panel.render({ tasks: this.tasks });
    this.render();
    if (this.running) this.timer = setTimeout(() => this.refresh(), REFRESH_MS);
  }

  /**
   * The live reservation of each reserved, assigned or wrapping task. An accepted one does not change, so it
   * is read once per task and status; a pending offer may be replaced by another, so it is read every time.
   */
  async loadReservations() {
    const wanted = new Set();
    await Promise.all(this.tasks.filter((t) => RESERVATION_OF[t.status]).map(async (t) => {
      const key = `${t.taskSid}:${t.status}`;
      wanted.add(key);
      const known = this.reservations.get(key);
      if (known && known.reservation && t.status !== "reserved") return;
      try {
        const reservation = await this.findReservation(t);
        if (reservation) this.reservations.set(key, { reservation });
        else if (!known) this.reservations.set(key, { error: "The task's reservation was not found." });
      } catch (err) {
        if (!known || !known.reservation) this.reservations.set(key, { error: err.message });
      }
    }));
    for (const key of this.reservations.keys()) if (!wanted.has(key)) this.reservations.delete(key);
  }

  async findReservation(t) {
    for (const status of RESERVATION_OF[t.status]) {
      const list = await this.api.taskReservations(t.taskSid, status);
      if (list.length) return list[list.length - 1]; // oldest first: the latest is the live one
    }
    return null;
  }

  find(taskSid) {
    return this.tasks.find((t) => t.taskSid === taskSid) || null;
  }

  /** The name the desktop shows for a worker: its full name from the agents panel, else its friendly name. */
  workerName(workerSid, friendlyName) {
    const known = this.agents && this.agents.nameOf(workerSid);
    if (known) return known;
    const name = friendlyName || workerSid || "an agent";
    return name.charAt(0).toUpperCase() + name.slice(1);
  }

  queueName(queueSid) {
    const t = this.tasks.find((x) => x.queueSid === queueSid && x.queueName);
    const fromPanel = this.panels.map((p) => p.queueName && p.queueName(queueSid)).find(Boolean);
    return fromPanel || (t && t.queueName) || queueSid;
  }

  /** Entries are kept per task and updated in place: focus and an open "Why this agent?" survive a refresh. */
  render() {
    const focused = document.activeElement;
    const entries = this.tasks.map((t) => {
      let item = this.items.get(t.taskSid);
      if (!item) {
        item = this.item(t);
        this.items.set(t.taskSid, item);
      }
      this.update(item, t);
      return item.li;
    });
    const live = new Set(this.tasks.map((t) => t.taskSid));
    for (const sid of this.items.keys()) if (!live.has(sid)) this.items.delete(sid);
    const shown = [...this.list.children];
    if (shown.length !== entries.length || shown.some((li, i) => li !== entries[i])) {
      this.list.replaceChildren(...entries);
      if (focused && focused !== document.activeElement && this.list.contains(focused)) focused.focus();
    }
    this.empty.hidden = this.tasks.length > 0;
    setText(this.count, this.tasks.length ? String(this.tasks.length) : "");
  }

  item(t) {
    const li = el("li", "monitor-entry");
    li.dataset.taskSid = t.taskSid;
    const button = el("button", "task");
    button.type = "button";
    button.dataset.taskSid = t.taskSid;
    const avatar = el("span", "avatar avatar--customer");
    avatar.setAttribute("aria-hidden", "true");
    const body = el("span", "task__body");
    const name = el("span", "task__name");
    const meta = el("span", "task__preview task__meta");
    const agent = el("span", "task__agent");
    body.append(name, meta, agent);
    const chip = el("span", "chip");
    button.append(avatar, body, chip);
    const item = { li, button, avatar, name, meta, agent, chip, task: t, why: null, details: null, decisionText: "" };
    button.addEventListener("click", () => this.onOpen(item.task));
    li.append(button);
    return item;
  }

  update(item, t) {
    item.task = t;
    const { button } = item;
    button.disabled = !t.conversationSid;
    if (this.isSelected(t.taskSid)) button.setAttribute("aria-current", "true");
    else button.removeAttribute("aria-current");
    setText(item.avatar, t.customerName.charAt(0).toUpperCase());
    setText(item.name, t.customerName);
    setText(item.meta, [channelLabel(t.channelType), t.queueName, ageLabel(t.age)].filter(Boolean).join(" · "));
    const record = RESERVATION_OF[t.status] ? this.reservations.get(`${t.taskSid}:${t.status}`) : null;
    const reservation = record && record.reservation;
    const who = reservation ? this.workerName(reservation.worker_sid, reservation.worker_name) : "";
    const agentText = !who ? "" : t.status === "reserved" ? `Offered to ${who}` : `Agent: ${who}`;
    setText(item.agent, agentText);
    item.agent.hidden = !agentText;
    item.chip.className = `chip chip--${t.status}`;
    setText(item.chip, statusLabel(t.status));
    this.updateWhy(item, t);
    this.updateDecision(item, t, record);
  }

  /** Beside the button, not in it: the button's name stays short, the reason is its description. */
  updateWhy(item, t) {
    const reason = (t.status === "pending" || t.status === "reserved") && waitingReason(t);
    if (!reason) {
      if (item.why) item.why.remove();
      item.why = null;
      item.button.removeAttribute("aria-describedby");
      return;
    }
    if (!item.why) {
      item.why = el("p", "task__why");
      item.why.id = `why-${t.taskSid}`;
      item.button.after(item.why);
    }
    item.why.title = t.routingStatus;
    const text = `Waiting: ${reason}`;
    if (item.why.textContent !== text) {
      item.why.replaceChildren(el("span", "task__why-label", "Waiting: "), reason);
    }
    item.button.setAttribute("aria-describedby", item.why.id);
  }

  /** "Why this agent?": a disclosure with the reservation's routing decision, for a task that has one. */
  updateDecision(item, t, record) {
    if (!record) {
      if (item.details) item.details.remove();
      item.details = null;
      item.decisionText = "";
      return;
    }
    if (!item.details) {
      item.details = el("details", "decision");
      const summary = el("summary", "decision__summary", "Why this agent?");
      item.summaryFor = el("span", "sr-only");
      summary.append(item.summaryFor);
      item.details.append(summary);
      item.li.append(item.details);
    }
    setText(item.summaryFor, ` (${t.customerName})`);
    const view = record.reservation
      ? decisionView(record.reservation, {
        status: t.status, nameOf: (sid, name) => this.workerName(sid, name), queueName: (sid) => this.queueName(sid),
      })
      : el("p", "decision__none", `Could not load the routing decision: ${record.error}`);
    if (view.textContent !== item.decisionText) {
      item.decisionText = view.textContent;
      item.details.replaceChildren(item.details.firstChild, view);
    }
  }
}
