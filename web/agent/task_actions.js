// A supervisor acts on a live task from the monitor (the "Manage task" dialog): what it can do depends on where
// the task stands.
// - pending or reserved: cancel it, with a reason (TaskRouter: AssignmentStatus=canceled, Reason);
// - reserved: withdraw the offer (its pending reservation is rejected for the agent, the task is routed again);
// - assigned: re-queue it (a cold transfer from its agent to the task's queue: another agent gets it) or hand it
//   to an available agent (a cold transfer to that agent); the first agent's task goes to wrap-up;
// - wrapping: complete the wrap-up an agent left behind.
import { ApiError } from "./api.js";
import { workerName } from "./agents.js";
import { ownParticipant } from "./transfer.js";

export const ACTIONS = {
  requeue: { label: "Re-queue", hint: "Route the chat again in its queue; the agent's task goes to wrap-up." },
  assign: { label: "Assign to an agent", hint: "Hand the chat to the agent you pick; the current agent's task goes to wrap-up." },
  withdraw: { label: "Withdraw the offer", hint: "Take the offer back from the agent; the chat is routed again." },
  cancel: { label: "Cancel the task", hint: "The task ends without an agent. Say why: it is kept with the task." },
  complete: { label: "Complete the wrap-up", hint: "End the wrap-up the agent left open." },
};

/** The actions that make sense for a task in `status` (with an interaction channel for the transfers). */
export function actionsFor(task) {
  const status = task.status;
  if (status === "pending") return ["cancel"];
  if (status === "reserved") return ["withdraw", "cancel"];
  if (status === "assigned") return task.channel ? ["requeue", "assign"] : [];
  if (status === "wrapping") return ["complete"];
  return [];
}

export class TaskActionsDialog {
  /** @param {object} opts api (Api), el (the <dialog>), onDone(message): after an action succeeded */
  constructor({ api, el, onDone }) {
    Object.assign(this, { api, el, onDone });
    const q = (sel) => el.querySelector(sel);
    this.form = q("form");
    this.title = q("#task-actions-title");
    this.choices = q("#task-actions-choices");
    this.agentRow = q("#task-actions-agent-row");
    this.agent = q("#task-actions-agent");
    this.reasonRow = q("#task-actions-reason-row");
    this.reason = q("#task-actions-reason");
    this.error = q("#task-actions-error");
    this.submit = q("#task-actions-submit");
    this.task = null;
    this.opener = null;
    this.form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      this.run();
    });
    this.form.addEventListener("change", () => this.showFields());
    q("#task-actions-cancel").addEventListener("click", () => el.close());
    el.addEventListener("close", () => this.opener && this.opener.focus());
  }

  get choice() {
    const checked = this.form.querySelector('input[name="task-action"]:checked');
    return checked ? checked.value : null;
  }

  async open(task, opener) {
    this.task = task;
    this.opener = opener;
    this.title.textContent = `Manage the task with ${task.customerName}`;
    this.error.textContent = "";
    this.reason.value = "";
    const actions = actionsFor(task);
    this.choices.replaceChildren(...actions.map((key, i) => {
      const wrap = document.createElement("div");
      const label = document.createElement("label");
      label.className = "choice";
      const radio = document.createElement("input");
      radio.type = "radio";
      radio.name = "task-action";
      radio.value = key;
      radio.checked = i === 0;
      radio.setAttribute("aria-describedby", `task-action-${key}-hint`);
      label.append(radio, ` ${ACTIONS[key].label}`);
      const hint = document.createElement("p");
      hint.className = "choice__hint";
      hint.id = `task-action-${key}-hint`;
      hint.textContent = ACTIONS[key].hint;
      wrap.append(label, hint);
      return wrap;
    }));
    this.agent.replaceChildren(new Option("Loading agents…", ""));
    this.showFields();
    this.el.showModal();
    this.choices.querySelector("input")?.focus();
    if (actions.includes("assign")) await this.loadAgents();
  }

  async loadAgents() {
    try {
      const workers = await this.api.workers();
      const holder = await this.holder().catch(() => null);
      const available = workers.filter((w) => w.available && (!holder || w.sid !== holder.workerSid));
      this.agent.replaceChildren(...(available.length
        ? available.map((w) => new Option(workerName(w), w.sid))
        : [new Option("No other agent is available", "")]));
    } catch (err) {
      this.agent.replaceChildren(new Option("Could not load the agents", ""));
    }
  }

  showFields() {
    this.agentRow.hidden = this.choice !== "assign";
    this.reasonRow.hidden = this.choice !== "cancel";
    this.reason.required = this.choice === "cancel";
    this.submit.textContent = this.choice ? ACTIONS[this.choice].label : "Apply";
  }

  /** The agent holding an assigned task: its worker and its participant on the interaction channel. */
  async holder() {
    const [accepted] = await this.api.taskReservations(this.task.taskSid, "accepted");
    if (!accepted) throw new Error("The task has no agent any more.");
    const participant = await ownParticipant(this.api, this.task.channel, {
      workerSid: accepted.worker_sid, taskSid: this.task.taskSid, statuses: ["active"],
    });
    if (!participant) throw new Error("The agent is no longer in the chat.");
    return { workerSid: accepted.worker_sid, participantSid: participant.sid };
  }

  async run() {
    const task = this.task;
    const choice = this.choice;
    if (!task || !choice) return;
    if (choice === "cancel" && !this.reason.value.trim()) {
      this.error.textContent = "Say why the task is canceled.";
      this.reason.focus();
      return;
    }
    if (choice === "assign" && !this.agent.value) {
      this.error.textContent = "Pick an available agent.";
      this.agent.focus();
      return;
    }
    this.submit.disabled = true;
    this.error.textContent = "";
    try {
      const message = await this.perform(task, choice);
      this.el.close();
      this.onDone(message);
    } catch (err) {
      this.error.textContent = err instanceof ApiError || err instanceof Error ? err.message : String(err);
    } finally {
      this.submit.disabled = false;
    }
  }

  async perform(task, choice) {
    const who = task.customerName;
    if (choice === "cancel") {
      await this.api.cancelTask(task.taskSid, this.reason.value.trim());
      return `The task with ${who} is canceled.`;
    }
    if (choice === "complete") {
      await this.api.setTaskStatus(task.taskSid, "completed");
      return `The wrap-up of the task with ${who} is completed.`;
    }
    if (choice === "withdraw") {
      const [offer] = await this.api.taskReservations(task.taskSid, "pending");
      if (!offer) throw new Error("The offer has already been answered.");
      await this.api.answerReservation(offer.worker_sid, offer.sid, "rejected");
      return `The offer of the chat with ${who} is withdrawn; it is routed again.`;
    }
    const holder = await this.holder();
    const to = choice === "requeue" ? task.queueSid : this.agent.value;
    const target = choice === "requeue" ? `the ${task.queueName || "task's"} queue` : this.agent.selectedOptions[0].text;
    await this.api.createTransfer(task.channel, { type: "cold", from: holder.participantSid, to });
    return `The chat with ${who} goes to ${target}.`;
  }
}
