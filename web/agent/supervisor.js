// Supervisor view: the workspace's live tasks (pending, reserved, assigned, wrapping), refreshed every 5 s.
// Selecting one with a conversation opens its transcript read-only (supervisors may follow any conversation);
// "Join chat" adds the supervisor to the conversation, and then it can write to the customer and the agent.
import { parseJson } from "./api.js";

const REFRESH_MS = 5000;

export const channelLabel = (type) =>
  ({ web: "Web chat", chat: "Chat", sms: "SMS", whatsapp: "WhatsApp", messenger: "Messenger", email: "Email" })[type] ||
  (type ? type.charAt(0).toUpperCase() + type.slice(1) : "Chat");

export const statusLabel = (s) => (s ? s.charAt(0).toUpperCase() + s.slice(1) : "");

function ageLabel(seconds) {
  if (seconds < 60) return `${seconds}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m`;
  return `${Math.floor(seconds / 3600)}h ${Math.floor((seconds % 3600) / 60)}m`;
}

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

export class SupervisorView {
  /**
   * @param {object} opts api (Api), list / empty / count / updated (elements), onOpen(task), isSelected(taskSid),
   *                      onError(text), onRefresh() after each successful refresh
   */
  constructor({ api, list, empty, count, updated, onOpen, isSelected, onError, onRefresh }) {
    Object.assign(this, { api, list, empty, count, updated, onOpen, isSelected, onError, onRefresh });
    this.tasks = [];
    this.timer = null;
    this.failed = false;
  }

  start() {
    this.refresh();
    this.timer = setInterval(() => this.refresh(), REFRESH_MS);
  }

  stop() {
    clearInterval(this.timer);
  }

  async refresh() {
    try {
      this.tasks = (await this.api.activeTasks()).map(monitoredTask);
      this.failed = false;
      const now = new Date().toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
      this.updated.textContent = `Updated ${now}`;
      if (this.onRefresh) this.onRefresh();
    } catch (err) {
      if (!this.failed && this.onError) this.onError(`Could not load tasks: ${err.message}`);
      this.failed = true;
      this.updated.textContent = "Update failed — retrying";
    }
    this.render();
  }

  find(taskSid) {
    return this.tasks.find((t) => t.taskSid === taskSid) || null;
  }

  render() {
    const focusedSid = document.activeElement && document.activeElement.dataset.taskSid;
    this.list.replaceChildren(...this.tasks.map((t) => this.item(t)));
    this.empty.hidden = this.tasks.length > 0;
    this.count.textContent = this.tasks.length ? String(this.tasks.length) : "";
    if (focusedSid) {
      const again = this.list.querySelector(`[data-task-sid="${focusedSid}"]`);
      if (again) again.focus();
    }
  }

  item(t) {
    const li = document.createElement("li");
    const button = document.createElement("button");
    button.type = "button";
    button.className = "task";
    button.dataset.taskSid = t.taskSid;
    button.disabled = !t.conversationSid;
    if (this.isSelected(t.taskSid)) button.setAttribute("aria-current", "true");
    const avatar = document.createElement("span");
    avatar.className = "avatar avatar--customer";
    avatar.setAttribute("aria-hidden", "true");
    avatar.textContent = t.customerName.charAt(0).toUpperCase();
    const body = document.createElement("span");
    body.className = "task__body";
    const name = document.createElement("span");
    name.className = "task__name";
    name.textContent = t.customerName;
    const meta = document.createElement("span");
    meta.className = "task__preview";
    meta.textContent = [channelLabel(t.channelType), t.queueName, ageLabel(t.age)].filter(Boolean).join(" · ");
    body.append(name, meta);
    const chip = document.createElement("span");
    chip.className = `chip chip--${t.status}`;
    chip.textContent = statusLabel(t.status);
    button.append(avatar, body, chip);
    button.addEventListener("click", () => this.onOpen(t));
    li.append(button);
    const reason = (t.status === "pending" || t.status === "reserved") && waitingReason(t);
    if (reason) {
      // Beside the button, not in it: the button's name stays short, the reason is its description.
      const why = document.createElement("p");
      why.className = "task__why";
      why.id = `why-${t.taskSid}`;
      why.title = t.routingStatus;
      const label = document.createElement("span");
      label.className = "task__why-label";
      label.textContent = "Waiting: ";
      why.append(label, reason);
      button.setAttribute("aria-describedby", why.id);
      li.append(why);
    }
    return li;
  }
}
