// Supervisor overview, the agents: every worker of the workspace (GET …/Workers) with its activity (and whether
// it takes tasks) and its load per channel (GET …/Workers/{WK}/Channels: assigned / configured capacity), e.g.
// "Chat 1/3". Shown are the chat channel, the channels of the workspace's live tasks and any channel with work.
import { channelLabel, setText } from "./supervisor.js";

const CHANNEL_ORDER = ["chat", "sms", "whatsapp", "messenger", "email", "voice", "video", "default"];
const PARALLEL = 6; // channel reads in flight at once

const capitalized = (s) => (s ? s.charAt(0).toUpperCase() + s.slice(1) : s);

/** A worker's name as the desktop shows it (the transfer dialog too): attributes.full_name, else its name. */
export function workerName(w) {
  try {
    const attrs = typeof w.attributes === "string" ? JSON.parse(w.attributes || "{}") : w.attributes || {};
    if (attrs && attrs.full_name) return String(attrs.full_name);
  } catch {
    // unreadable attributes: the friendly name will do
  }
  return capitalized(w.friendly_name || w.sid);
}

/** Runs `work` over `items` with at most `limit` at once; resolves with the settled results, in order. */
async function pooled(items, limit, work) {
  const results = new Array(items.length);
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const i = next++;
      try {
        results[i] = { ok: true, value: await work(items[i]) };
      } catch (err) {
        results[i] = { ok: false, error: err };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  return results;
}

const channelRank = (name) => {
  const i = CHANNEL_ORDER.indexOf(name);
  return i < 0 ? CHANNEL_ORDER.length : i;
};

export class AgentsPanel {
  /** root: the overview; it holds #agents, #agents-empty, #agents-count and #agents-notice. */
  constructor({ api, root }) {
    this.api = api;
    const $ = (id) => root.querySelector(`#${id}`);
    this.list = $("agents");
    this.empty = $("agents-empty");
    this.count = $("agents-count");
    this.notice = $("agents-notice");
    this.workers = []; // by name
    this.channels = new Map(); // WK… -> channels | null (could not be read)
    this.rows = new Map(); // WK… -> the row's elements
    this.error = "";
  }

  nameOf(workerSid) {
    const w = this.workers.find((x) => x.sid === workerSid);
    return w ? workerName(w) : null;
  }

  /** Reads the workers, then their channels; never rejects. */
  async load() {
    try {
      const workers = await this.api.workers();
      this.workers = [...workers].sort((a, b) => workerName(a).localeCompare(workerName(b)));
      this.error = "";
    } catch (err) {
      this.error = `Agents could not be updated (${err.message}). Showing the last figures; retrying every 5 s.`;
      return;
    }
    const results = await pooled(this.workers, PARALLEL, (w) => this.api.workerChannels(w.sid));
    this.channels = new Map(this.workers.map((w, i) => [w.sid, results[i].ok ? results[i].value : null]));
  }

  /** The channels the loads are shown for: chat, the live tasks' channels, and any channel with work. */
  shownChannels(tasks) {
    const names = new Set(["chat"]);
    for (const t of tasks || []) if (t.taskChannel) names.add(t.taskChannel);
    for (const list of this.channels.values()) {
      for (const c of list || []) if (c.assigned_tasks > 0) names.add(c.task_channel_unique_name);
    }
    return [...names].sort((a, b) => channelRank(a) - channelRank(b) || a.localeCompare(b));
  }

  render({ tasks } = {}) {
    setText(this.notice, this.error);
    const channels = this.shownChannels(tasks);
    const entries = this.workers.map((w) => {
      let row = this.rows.get(w.sid);
      if (!row) {
        row = this.row(w);
        this.rows.set(w.sid, row);
      }
      this.fill(row, w, channels);
      return row.li;
    });
    const live = new Set(this.workers.map((w) => w.sid));
    for (const sid of this.rows.keys()) if (!live.has(sid)) this.rows.delete(sid);
    const current = [...this.list.children];
    if (current.length !== entries.length || current.some((li, i) => li !== entries[i])) {
      this.list.replaceChildren(...entries);
    }
    this.empty.hidden = entries.length > 0;
    setText(this.count, entries.length ? String(entries.length) : "");
  }

  row(w) {
    const li = document.createElement("li");
    li.className = "agent";
    li.dataset.workerSid = w.sid;
    li.setAttribute("aria-atomic", "true"); // a change reads the whole row: "Alice, Available, Chat 1/3"
    li.innerHTML = `<span class="avatar" aria-hidden="true"></span>
      <span class="agent__body"><span class="agent__name"></span>
        <span class="agent__activity"><span class="agent__dot" aria-hidden="true"></span><span
          class="agent__activity-name"></span><span class="sr-only agent__takes"></span></span></span>
      <span class="agent__load"></span>`;
    const q = (sel) => li.querySelector(sel);
    return {
      li, avatar: q(".avatar"), name: q(".agent__name"), dot: q(".agent__dot"), activity: q(".agent__activity-name"),
      takes: q(".agent__takes"), load: q(".agent__load"),
    };
  }

  fill(row, w, shown) {
    const name = workerName(w);
    setText(row.avatar, name.charAt(0).toUpperCase());
    setText(row.name, name);
    setText(row.activity, w.activity_name || "Unknown activity");
    setText(row.takes, w.available ? " (takes tasks)" : " (takes no tasks)");
    row.dot.dataset.available = String(Boolean(w.available));
    row.li.dataset.available = String(Boolean(w.available));
    const channels = this.channels.get(w.sid);
    let text;
    if (!channels) {
      text = "Load unknown";
    } else {
      const byName = new Map(channels.map((c) => [c.task_channel_unique_name, c]));
      text = shown.filter((n) => byName.has(n)).map((n) => {
        const c = byName.get(n);
        return `${channelLabel(n)} ${c.assigned_tasks}/${c.configured_capacity}${c.available ? "" : " (off)"}`;
      }).join(" · ") || "No channels";
    }
    setText(row.load, text);
  }
}
