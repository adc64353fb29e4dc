// Supervisor overview, live figures: the workspace's totals (GET …/RealTimeStatistics) and one card per queue
// (GET …/TaskQueues for the names, GET …/TaskQueues/Statistics for the figures: real-time, and cumulative
// over the last 15 minutes). Refreshed with the task list; a failed read leaves the last figures up and says so.
import { ageLabel, setText } from "./supervisor.js";

const dash = "—";

/** A figure tile: <div><dt>label</dt><dd>value</dd></div>, announced whole when its value changes. */
function figure(key, label, context) {
  const wrap = document.createElement("div");
  wrap.className = "figure";
  wrap.setAttribute("aria-atomic", "true");
  const dt = document.createElement("dt");
  dt.textContent = label;
  if (context) {
    const sr = document.createElement("span");
    sr.className = "sr-only";
    sr.textContent = ` ${context}`;
    dt.append(sr);
  }
  const dd = document.createElement("dd");
  dd.dataset.figure = key;
  dd.textContent = dash;
  wrap.append(dt, dd);
  return { wrap, dd };
}

/** Tiles in a <dl>; `quiet` keys (ages, which change every refresh) are left out of the live announcements. */
function figureList(defs, { context, quiet = [], dl = document.createElement("dl") } = {}) {
  dl.className = "figures";
  const values = {};
  for (const [key, label] of defs) {
    const { wrap, dd } = figure(key, label, context);
    if (quiet.includes(key)) wrap.setAttribute("aria-live", "off");
    dl.append(wrap);
    values[key] = dd;
  }
  return { dl, values };
}

const waiting = (byStatus) => (byStatus ? (byStatus.pending || 0) + (byStatus.reserved || 0) : 0);
const longest = (rt) => (rt.longest_task_waiting_sid ? ageLabel(rt.longest_task_waiting_age) : dash);

export class QueuesPanel {
  /** root: the overview; it holds #totals, #totals-activities, #queues, #queues-empty, #queues-count, #stats-notice. */
  constructor({ api, root }) {
    this.api = api;
    const $ = (id) => root.querySelector(`#${id}`);
    this.notice = $("stats-notice");
    this.activitiesLine = $("totals-activities");
    this.list = $("queues");
    this.empty = $("queues-empty");
    this.count = $("queues-count");
    const totals = figureList([
      ["waiting", "Waiting"], ["assigned", "Assigned"], ["wrapping", "Wrapping"], ["longest", "Longest wait"],
      ["available", "Agents available"],
    ], { quiet: ["longest"], dl: $("totals") });
    totals.dl.setAttribute("aria-live", "polite");
    this.totals = totals.values;
    this.cards = new Map(); // WQ… -> { li, values }
    this.queues = []; // the workspace's queues, by name
    this.stats = new Map(); // WQ… -> { realtime, cumulative }
    this.workspace = null; // RealTimeStatistics
    this.activities = null; // the workspace's activities (which ones are available)
    this.errors = [];
  }

  queueName(sid) {
    const q = this.queues.find((x) => x.sid === sid);
    return q ? q.friendly_name : null;
  }

  /** Reads everything; never rejects (a failure is kept for the notice). */
  async load() {
    const [queues, stats, workspace, activities] = await Promise.allSettled([
      this.api.taskQueues(), this.api.taskQueuesStatistics(), this.api.workspaceStatistics(),
      this.activities ? Promise.resolve(this.activities) : this.api.activities(),
    ]);
    this.errors = [];
    if (queues.status === "fulfilled") {
      this.queues = [...queues.value].sort((a, b) => a.friendly_name.localeCompare(b.friendly_name));
    } else {
      this.errors.push(`queues: ${queues.reason.message}`);
    }
    if (stats.status === "fulfilled") {
      this.stats = new Map(stats.value.map((s) => [s.task_queue_sid, s]));
    } else {
      this.errors.push(`queue statistics: ${stats.reason.message}`);
    }
    if (workspace.status === "fulfilled") this.workspace = workspace.value;
    else this.errors.push(`workspace statistics: ${workspace.reason.message}`);
    if (activities.status === "fulfilled") this.activities = activities.value;
  }

  render() {
    setText(this.notice, this.errors.length
      ? `Some figures could not be updated (${this.errors.join("; ")}). Showing the last ones; retrying every 5 s.`
      : "");
    this.renderTotals();
    this.renderQueues();
  }

  renderTotals() {
    const ws = this.workspace;
    if (!ws) return;
    const byStatus = ws.tasks_by_status || {};
    setText(this.totals.waiting, String(waiting(byStatus)));
    setText(this.totals.assigned, String(byStatus.assigned || 0));
    setText(this.totals.wrapping, String(byStatus.wrapping || 0));
    setText(this.totals.longest, longest(ws));
    const activities = ws.activity_statistics || [];
    const isAvailable = new Map((this.activities || []).map((a) => [a.sid, a.available]));
    if (this.activities) {
      const available = activities.reduce((n, a) => n + (isAvailable.get(a.sid) ? a.workers : 0), 0);
      setText(this.totals.available, `${available} of ${ws.total_workers ?? 0}`);
    }
    const ordered = [...activities].sort((a, b) => Number(Boolean(isAvailable.get(b.sid))) -
      Number(Boolean(isAvailable.get(a.sid))) || a.friendly_name.localeCompare(b.friendly_name));
    setText(this.activitiesLine, ordered.length
      ? `Agents by activity: ${ordered.map((a) => `${a.friendly_name} ${a.workers}`).join(" · ")}` : "");
  }

  renderQueues() {
    const shown = this.queues.length ? this.queues
      : [...this.stats.keys()].map((sid) => ({ sid, friendly_name: sid })); // names unknown: the SIDs
    const entries = shown.map((q) => {
      let card = this.cards.get(q.sid);
      if (!card) {
        card = this.card(q);
        this.cards.set(q.sid, card);
      }
      setText(card.title, q.friendly_name);
      this.fill(card, this.stats.get(q.sid));
      return card.li;
    });
    const live = new Set(shown.map((q) => q.sid));
    for (const sid of this.cards.keys()) if (!live.has(sid)) this.cards.delete(sid);
    const current = [...this.list.children];
    if (current.length !== entries.length || current.some((li, i) => li !== entries[i])) {
      this.list.replaceChildren(...entries);
    }
    this.empty.hidden = entries.length > 0;
    setText(this.count, entries.length ? String(entries.length) : "");
  }

  card(q) {
    const li = document.createElement("li");
    li.className = "queue";
    li.dataset.queueSid = q.sid;
    const title = document.createElement("h3");
    title.className = "queue__name";
    title.id = `queue-${q.sid}`;
    li.setAttribute("aria-labelledby", title.id);
    const { dl, values } = figureList([
      ["waiting", "Waiting"], ["longest", "Longest wait"], ["agents", "Agents available / eligible"],
      ["assigned", "Assigned"], ["entered", "Entered, 15 min"], ["avg-wait", "Avg wait to accept, 15 min"],
    ], { context: `in ${q.friendly_name}`, quiet: ["longest", "avg-wait"] });
    dl.setAttribute("aria-live", "polite");
    li.append(title, dl);
    return { li, title, values };
  }

  fill(card, stats) {
    const v = card.values;
    if (!stats) {
      for (const dd of Object.values(v)) setText(dd, dash);
      return;
    }
    const rt = stats.realtime || {};
    const cum = stats.cumulative || {};
    setText(v.waiting, String(waiting(rt.tasks_by_status)));
    setText(v.longest, longest(rt));
    setText(v.agents, `${rt.total_available_workers ?? 0} / ${rt.total_eligible_workers ?? 0}`);
    setText(v.assigned, String((rt.tasks_by_status || {}).assigned || 0));
    setText(v.entered, String(cum.tasks_entered ?? 0));
    const wait = cum.wait_duration_until_accepted;
    setText(v["avg-wait"], cum.reservations_accepted && wait ? ageLabel(wait.avg) : dash);
  }
}
