// Parley agent desktop: availability, incoming reservations, accepted chats, transfers, wrap-up with a
// disposition, complete, and (for supervisors) a read-only monitor of the workspace's live tasks, with the
// queues' figures, the agents' activity and load, and why each task went where it went.
// Protocol: docs/realtime.md.
import { ActivityControl } from "./activity.js";
import { ALERT_KINDS, OfferAlerts } from "./alerts.js";
import { TaskActionsDialog, actionsFor } from "./task_actions.js";
import { Api, ApiError, decodeToken, forgetToken, parseJson, storeToken, takeToken } from "./api.js";
import { dispositionChoices, withOutcome } from "./dispositions.js";
import { AttachmentPicker, mediaSummary } from "/shared/media.js";
import { RealtimeClient, newId } from "/shared/realtime.js";
import { showBanner, showConnection, showToast } from "./notices.js";
import { SessionKeeper, isSsoToken, renewToken, ssoConfig } from "./session.js";
import { forgetReadIndex, readIndex, storeReadIndex } from "./reads.js";
import { incomingCard, initial, taskItem, updateCountdown } from "./sidebar.js";
import { SupervisorView, channelLabel, statusLabel } from "./supervisor.js";
import { QueuesPanel } from "./queues.js";
import { AgentsPanel } from "./agents.js";
import { Transcript } from "./transcript.js";
import { ContextPanel } from "./context.js";
import { CannedPicker } from "./canned.js";
import { CannedAdminDialog } from "./canned_admin.js";
import { HistorySearch } from "./search.js";
import { TypingPeople, TypingSender } from "/shared/typing.js";
import {
  TransferDialog, channelOf, forgetTransfer, ownParticipant, recallTransfer, rememberTransfer, transferInfo,
  transferLine, transferState, transferStatusText,
} from "./transfer.js";

const $ = (id) => document.getElementById(id);
const ui = Object.fromEntries([
  "topbar-right", "connection", "activity-control", "activity-dot", "activity", "me-avatar", "me-name", "role-badge",
  "sign-out", "banner", "missed", "missed-text", "missed-available", "missed-dismiss", "toast", "signin",
  "signin-form", "signin-notice", "signin-token", "signin-error", "signin-sso", "signin-sso-button", "layout",
  "incoming-section", "incoming", "incoming-count", "incoming-empty", "tasks-section", "tasks", "tasks-count",
  "tasks-empty", "monitor-section", "monitor", "monitor-count", "monitor-updated", "monitor-empty", "placeholder",
  "placeholder-text", "conversation", "conversation-avatar", "conversation-title", "conversation-meta",
  "conversation-status", "wrap-up", "complete", "transcript-slot", "reply", "reply-label", "reply-text",
  "reply-send", "readonly-note", "monitor-join", "product-name", "workspace", "transfer-open", "transfer-received",
  "transfer-status", "transfer-status-text", "transfer-take-back", "transfer-dialog", "wrapup", "dispositions",
  "wrapup-error", "typing", "reply-file", "reply-attachment", "reply-file-error", "overview", "alerts-panel",
  "alerts-hint", "task-actions-open", "task-actions-dialog", "context", "context-toggle", "canned-open", "canned-list",
].map((id) => [id.replace(/-(\w)/g, (_, c) => c.toUpperCase()), $(id)]));

let me = null; // { identity, workspaceSid, workerSid, role, token, sso }
let keeper = null; // SessionKeeper: renews a single sign-on token, or warns before the token expires
let api = null;
let client = null;
let supervisor = null;
const reservations = new Map(); // WR… -> pending offer
const tasks = new Map(); // WT… -> accepted task with its Transcript
let selected = null; // { kind: "task" | "monitor", sid }
let monitor = null; // the monitored task (supervisor), with its Transcript
let activity = null; // ActivityControl (agents with a worker)
let timedOut = { names: [], seq: 0, date: null }; // this worker's offers that just timed out (customer names)
let missed = null; // { names, activitySid, activityName, seq, dismissed }: the missed-chat notice
let transferDialog = null; // TransferDialog (agents with a worker)
let taskActions = null; // TaskActionsDialog (supervisors)
let contextPanel = null; // ContextPanel: the shown conversation's customer, notes and history
let canned = null; // CannedPicker: "/" in the reply box
// The customer panel beside the conversation: open by default on a wide agent screen, asked for otherwise.
const CONTEXT_KEY = "parley.agent.context";
const wideScreen = window.matchMedia("(min-width: 1181px)");
const alerts = new OfferAlerts(); // opt-in chime, title flash and browser notification on offers
const dispositionInputs = dispositionChoices(ui.dispositions); // the wrap-up radio buttons
const typingSender = new TypingSender((conversationSid) => client.sendTyping(conversationSid));
const TRANSFER_POLL_MS = 1000; // how often the sender asks how its waiting transfer is doing
// The reply box's attachment, one per conversation: uploaded when chosen, sent with the next reply.
const attachments = new AttachmentPicker({
  input: ui.replyFile, draft: ui.replyAttachment, error: ui.replyFileError, token: () => me.token,
  onFailed: (status, message) => status === 401 && sessionExpired(message),
});

// --- small helpers -------------------------------------------------------------------------------------

const toast = (text) => showToast(ui.toast, text);

let renderQueued = false;
function scheduleRender() {
  if (renderQueued) return;
  renderQueued = true;
  Promise.resolve().then(() => {
    renderQueued = false;
    render();
  });
}

let syncTimer = null;
function scheduleSync() {
  clearTimeout(syncTimer);
  syncTimer = setTimeout(syncTasks, 60); // lets a replayed history settle before subscribing
}

const isOwn = (message, participant) =>
  message.author === me.identity || Boolean(participant && me.workerSid && participant.attrs.worker_sid === me.workerSid);

/** Whether a participant.added / participant.removed event is about this agent. */
function isMe(data) {
  const attrs = parseJson(data.attributes);
  if (me.workerSid && attrs.worker_sid === me.workerSid) return true;
  return Boolean(data.identity && data.identity === me.identity);
}

const readKey = () => me.workerSid || me.identity; // read marks are per agent (several may share a browser)

/** Whether a participant of the transcript (by SID) is this agent, e.g. the author of a typing signal. */
function isMyParticipant(transcript, participantSid, identity) {
  if (identity && identity === me.identity) return true;
  const p = transcript.participants.get(participantSid);
  return Boolean(p && me.workerSid && p.attrs.worker_sid === me.workerSid);
}

/** Someone else in the conversation is typing: "<name> is typing…" under its transcript for a few seconds. */
function noteTyping(holder, data) {
  const t = holder.transcript;
  if (!t || isMyParticipant(t, data.participant_sid, data.identity)) return;
  const p = t.participants.get(data.participant_sid);
  const who = data.identity || "someone";
  holder.typing.typing(data.identity || data.participant_sid, p ? p.name : who.charAt(0).toUpperCase() + who.slice(1));
}

/** Follows a conversation for a task or the monitor: its events, then (once replayed) the Participants list. */
function follow(holder, onEvent) {
  client.subscribe(holder.conversationSid, 0, onEvent, () => {
    holder.replayed = true;
    const t = holder.transcript;
    t.reads.fetching();
    api.conversationParticipants(holder.conversationSid).then(
      (list) => {
        if (holder.transcript !== t) return;
        t.loadParticipants(list);
        if (holder.taskSid && tasks.get(holder.taskSid) === holder) ownReadFrom(holder, list);
        scheduleRender();
      },
      () => t.reads.fetched([]),
    );
    if (tasks.get(holder.taskSid) === holder) {
      if (isSelectedTask(holder.taskSid) && !document.hidden) markSeen(holder);
      scheduleRender();
    }
  });
}

/** The server's read horizon of this agent's own participant, from the Participants list. */
function ownReadFrom(task, list) {
  for (const p of list) {
    if (p.sid === task.joinedAs || isMe({ identity: p.identity, attributes: p.attributes })) {
      serverRead(task, p.last_read_message_index);
    }
  }
}

/** The server says this agent has read the task's conversation up to `index`. */
function serverRead(task, index) {
  if (!Number.isInteger(index) || index <= task.serverRead) return;
  task.serverRead = index;
  task.readIndex = Math.max(task.readIndex, index);
  countUnread(task);
  scheduleRender();
}

// --- worker stream -------------------------------------------------------------------------------------

function onWorkerEvent(frame) {
  const d = frame.data || {};
  switch (frame.event) {
    case "reservation.created": {
      const attrs = parseJson(d.task_attributes);
      const createdAt = Date.parse(d.date_created || frame.date) || Date.now();
      reservations.set(d.reservation_sid, {
        sid: d.reservation_sid, taskSid: d.task_sid, attrs, timeout: Number(d.timeout) || 0, createdAt,
      });
      alerts.offered(d.reservation_sid, attrs.customerName || "a customer", createdAt);
      break;
    }
    case "reservation.accepted":
      alerts.settled(d.reservation_sid);
      taskFromReservation(d.reservation_sid, d.task_sid);
      break;
    case "reservation.timeout": {
      alerts.settled(d.reservation_sid);
      const r = reservations.get(d.reservation_sid);
      const name = (r && r.attrs.customerName) || "a customer";
      reservations.delete(d.reservation_sid);
      if (missed) {
        missed.names.push(name); // another offer made before the move ran out too
      } else {
        if (timedOut.seq !== frame.seq - 1) timedOut.names = [];
        timedOut = { names: [...timedOut.names, name], seq: frame.seq, date: frame.date };
      }
      break;
    }
    case "reservation.rejected":
    case "reservation.canceled":
    case "reservation.rescinded":
      alerts.settled(d.reservation_sid);
      reservations.delete(d.reservation_sid);
      break;
    case "reservation.wrapping": {
      // e.g. a warm transfer was accepted, or a cold one sent: the server wrapped this agent's task up.
      const task = tasks.get(d.task_sid);
      if (task && (STATUS_RANK[task.status] ?? 0) < STATUS_RANK.wrapping) task.status = "wrapping";
      break;
    }
    case "reservation.completed":
      removeTask(d.task_sid);
      break;
    case "worker.activity.update":
      if (activity) activity.show(d.activity_sid, d.available);
      missedAfter(frame);
      break;
    default:
      return;
  }
  scheduleRender();
  scheduleSync();
}

/**
 * The server moves a worker whose offer timed out in the same transaction, so that worker.activity.update is
 * the very next event of the stream (and as old as the timeout): then say so until the worker's activity
 * changes again. Replayed history ends in the same state, so after a reload the notice is back only if the
 * worker is still where the latest timeout put it; a change the agent made (after a reject, say) says nothing.
 */
function missedAfter(frame) {
  const d = frame.data || {};
  const gap = Math.abs(Date.parse(frame.date) - Date.parse(timedOut.date)); // NaN (no dates): seq decides
  const moved = timedOut.names.length > 0 && timedOut.seq === frame.seq - 1 && !d.available && !(gap >= 2000);
  missed = !moved ? null : {
    names: timedOut.names, activitySid: d.activity_sid, seq: frame.seq,
    activityName: d.activity_name || (activity && activity.nameOf(d.activity_sid)) || "Unavailable",
    dismissed: sessionStorage.getItem(missedKey()) === String(frame.seq),
  };
  timedOut = { names: [], seq: 0, date: null };
}

const missedKey = () => `parley.agent.missedDismissed.${me.workerSid}`;

function taskFromReservation(reservationSid, taskSid) {
  const r = reservations.get(reservationSid);
  reservations.delete(reservationSid);
  if (tasks.has(taskSid)) return tasks.get(taskSid);
  const attrs = r ? r.attrs : {};
  const task = {
    taskSid, reservationSid, attrs, conversationSid: attrs.conversationSid || null,
    customerName: attrs.customerName || "Customer", channelType: attrs.channelType,
    customerAddress: attrs.customerAddress || null, status: "assigned",
    unread: 0, preview: "", transcript: null, checked: false,
    // Unread = others' messages since this agent joined the conversation for this task (`joinedAs` is its
    // participant), above the highest index it has already seen (`readIndex`): the higher of its participant's
    // read horizon on the server (`serverRead`) and this browser's own mark (kept across reloads).
    joinedAs: null, unseen: [], lastIndex: -1, readIndex: -1, serverRead: -1, replayed: false,
    typing: null, // TypingPeople: who else is typing in the conversation
    // A transfer this agent sent from the task (kept for the browser session), and the disposition picked.
    transfer: recallTransfer(me.workerSid, taskSid), transferPoll: null, disposition: "",
  };
  task.typing = new TypingPeople(() => renderTyping());
  tasks.set(taskSid, task);
  watchTransfer(task);
  return task;
}

function removeTask(taskSid) {
  const task = tasks.get(taskSid);
  if (!task) return;
  tasks.delete(taskSid);
  clearTimeout(task.transferPoll);
  task.typing.clear();
  if (task.transcript) task.transcript.dispose();
  forgetTransfer(me.workerSid, taskSid);
  if (task.conversationSid) client.unsubscribe(task.conversationSid);
  if (selected && selected.kind === "task" && selected.sid === taskSid) {
    const next = tasks.keys().next();
    selected = next.done ? null : { kind: "task", sid: next.value };
  }
  scheduleRender();
}

const STATUS_RANK = { reserved: 0, assigned: 1, wrapping: 2 }; // a late answer never moves a task backwards

/** Follows the conversations of accepted tasks; learns each task's real state (e.g. wrapping) once. */
function syncTasks() {
  for (const task of tasks.values()) {
    if (!task.checked) {
      task.checked = true;
      api.task(task.taskSid).then((t) => {
        if (!t.attributes) return;
        const attrs = parseJson(t.attributes);
        Object.assign(task, { attrs, queueName: t.task_queue_friendly_name,
          conversationSid: task.conversationSid || attrs.conversationSid || null,
          customerName: attrs.customerName || task.customerName, channelType: attrs.channelType || task.channelType,
          customerAddress: attrs.customerAddress || task.customerAddress || null });
        if (t.assignment_status === "completed" || t.assignment_status === "canceled") removeTask(task.taskSid);
        else if ((STATUS_RANK[t.assignment_status] ?? 0) > (STATUS_RANK[task.status] ?? 0)) task.status = t.assignment_status;
        scheduleRender();
        scheduleSync();
      }, () => {});
    }
    if (task.conversationSid && !task.transcript) {
      task.readIndex = readIndex(readKey(), task.conversationSid);
      task.transcript = new Transcript({ label: `Conversation with ${task.customerName}`, isOwn, token: () => me.token });
      follow(task, (frame) => onTaskConversationEvent(task, frame));
    }
  }
}

/**
 * The transcript replays from the conversation's first event, so earlier tasks' messages (this agent's or
 * another's) come first: only messages after this agent's latest join can be unread, and of those only the
 * ones above the read index (seen while the task was selected on a visible page, before or after a reload).
 */
function onTaskConversationEvent(task, frame) {
  const data = frame.data || {};
  if (frame.event === "typing") return noteTyping(task, data);
  if (frame.event === "participant.added" && isMe(data)) {
    task.joinedAs = data.participant_sid;
    task.unseen = [];
  } else if (frame.event === "participant.removed" && data.participant_sid === task.joinedAs) {
    task.joinedAs = null;
    task.unseen = [];
  } else if (frame.event === "participant.updated" && (data.participant_sid === task.joinedAs || isMe(data))) {
    serverRead(task, data.last_read_message_index); // read here, on another desktop, or before a reload
  } else if (frame.event === "message.removed") {
    task.unseen = task.unseen.filter((index) => index !== data.index);
  }
  const message = task.transcript.handle(frame);
  if (message) {
    if (Number.isFinite(message.index)) task.lastIndex = Math.max(task.lastIndex, message.index);
    const own = isOwn(message, task.transcript.participantOf(message));
    if (!own && task.joinedAs && Number.isFinite(message.index)) task.unseen.push(message.index);
  }
  if (frame.event === "message.added" && !data.deleted) {
    task.typing.stopped(data.author);
    if (Number.isFinite(data.index)) task.lastIndex = Math.max(task.lastIndex, data.index); // also our own
    if (isSelectedTask(task.taskSid) && !document.hidden) markSeen(task);
  }
  const latest = task.transcript.latest();
  task.preview = latest ? latest.body || mediaSummary(latest.media) : "";
  countUnread(task);
  scheduleRender();
}

/**
 * The agent is looking at the task's transcript: everything in it so far is read, also after a reload and on
 * the agent's other desktops. The server keeps it (the participant's read horizon; only moved forward, and
 * only once the replay is over, when the page knows where the server has it); this browser keeps its own mark
 * too, for a read the server has not acknowledged yet.
 */
function markSeen(task) {
  if (task.lastIndex > task.readIndex) {
    task.readIndex = task.lastIndex;
    if (task.conversationSid) storeReadIndex(readKey(), task.conversationSid, task.readIndex);
  }
  if (task.replayed && task.joinedAs && task.lastIndex > task.serverRead) {
    client.markRead(task.conversationSid, task.lastIndex);
  }
  countUnread(task);
}

function countUnread(task) {
  task.unread = task.unseen.filter((index) => index > task.readIndex).length;
}

// --- actions -------------------------------------------------------------------------------------------

async function answer(reservation, status, card) {
  for (const b of card.querySelectorAll("button")) b.disabled = true;
  card.querySelector(".card__error").textContent = "";
  try {
    await api.answerReservation(me.workerSid, reservation.sid, status);
    if (status === "accepted") {
      const task = taskFromReservation(reservation.sid, reservation.taskSid);
      select({ kind: "task", sid: task.taskSid });
      scheduleSync();
      setTimeout(() => ui.replyText.focus(), 0);
    } else {
      reservations.delete(reservation.sid);
      alerts.settled(reservation.sid);
      toast(`You declined the chat from ${reservation.attrs.customerName || "a customer"}: it goes to another agent.`);
    }
  } catch (err) {
    if (err instanceof ApiError && err.status >= 400 && err.status < 500 && err.status !== 401) {
      reservations.delete(reservation.sid);
      toast(`That task is no longer available (${err.message}).`);
    } else {
      card.querySelector(".card__error").textContent = err.message;
      for (const b of card.querySelectorAll("button")) b.disabled = false;
    }
  }
  scheduleRender();
}

const selectedTask = () => (selected && selected.kind === "task" && tasks.get(selected.sid)) || null;

/**
 * Moves this agent's participant on the task's interaction channel to `wrapup` (its task wraps up) or `closed`
 * (its task completes). A task that is not on an interaction channel is changed through TaskRouter.
 */
async function moveParticipant(task, status) {
  const channel = channelOf(task.attrs);
  const taskStatus = status === "closed" ? "completed" : "wrapping";
  if (!channel) return api.setTaskStatus(task.taskSid, taskStatus);
  const participant = await ownParticipant(api, channel, {
    workerSid: me.workerSid, taskSid: task.taskSid, statuses: status === "closed" ? ["active", "wrapup"] : ["active"],
  });
  if (!participant) throw new Error("you are no longer a participant of this chat");
  return api.setParticipantStatus(channel, participant.sid, status);
}

async function wrapUp() {
  const task = selectedTask();
  if (!task) return;
  ui.wrapUp.disabled = true;
  try {
    await moveParticipant(task, "wrapup");
    task.status = "wrapping";
    render();
    (dispositionInputs.find((i) => i.checked) || dispositionInputs[0]).focus();
  } catch (err) {
    toast(`Could not wrap up the task: ${err.message}`);
  } finally {
    ui.wrapUp.disabled = false;
  }
}

/** Complete: the disposition picked (if any) goes into the task's attributes first, then the agent leaves. */
async function complete(ev) {
  ev.preventDefault();
  const task = selectedTask();
  if (!task) return;
  ui.complete.disabled = true;
  ui.wrapupError.textContent = "";
  try {
    if (task.disposition) {
      try {
        await api.mergeTaskAttributes(task.taskSid, (attrs) => withOutcome(attrs, task.disposition));
      } catch (err) {
        throw new Error(`the disposition could not be saved (${err.message.replace(/\.$/, "")})`);
      }
    }
    await moveParticipant(task, "closed");
    removeTask(task.taskSid);
    if (task.conversationSid && !tasksHaveConversation(task.conversationSid)) {
      forgetReadIndex(readKey(), task.conversationSid); // a later task on it starts from its own join
    }
    toast(`Task with ${task.customerName} completed` + (task.disposition ? ` (${task.disposition}).` : "."));
    ui.workspace.focus();
  } catch (err) {
    ui.wrapupError.textContent = `Could not complete the task: ${err.message}.`;
  } finally {
    ui.complete.disabled = false;
  }
}

function openTransfer() {
  const task = selectedTask();
  if (task && transferDialog) transferDialog.open(task, ui.transferOpen);
}

/** The dialog sent a transfer: follow it; returns what to focus (where the sender's next step is). */
function transferSent(task, record) {
  task.transfer = record;
  rememberTransfer(me.workerSid, task.taskSid, record);
  // Cold: the server wrapped this agent's task up with the transfer (reservation.wrapping follows).
  if (record.type === "cold" && task.status === "assigned") task.status = "wrapping";
  watchTransfer(task);
  render();
  if (record.status === "active" && record.type === "warm") return ui.transferTakeBack;
  return task.status === "wrapping" ? dispositionInputs[0] : ui.replyText;
}

/** While the task's transfer waits for its receiver, asks the server how it stands. */
function watchTransfer(task) {
  clearTimeout(task.transferPoll);
  const t = task.transfer;
  if (!t || t.status !== "active") return;
  task.transferPoll = setTimeout(async () => {
    if (tasks.get(task.taskSid) !== task || task.transfer !== t) return;
    try {
      transferUpdated(task, await api.transfer(t.channel, t.sid));
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) {
        task.transfer = null;
        forgetTransfer(me.workerSid, task.taskSid);
        scheduleRender();
        return;
      }
    }
    watchTransfer(task);
  }, TRANSFER_POLL_MS);
}

function transferUpdated(task, fresh) {
  const t = task.transfer;
  if (!t || fresh.sid !== t.sid || (fresh.status === t.status && (fresh.reason || null) === t.reason)) return;
  Object.assign(t, { status: fresh.status, reason: fresh.reason || null });
  rememberTransfer(me.workerSid, task.taskSid, t);
  if (t.status !== "active") {
    task.checked = false; // learn the task's state again (an accepted transfer wrapped it up)
    scheduleSync();
  }
  scheduleRender();
}

/** A warm transfer nobody has accepted yet: the sender takes it back and keeps the chat. */
async function takeBack() {
  const task = selectedTask();
  const t = task && task.transfer;
  if (!t || t.status !== "active") return;
  ui.transferTakeBack.disabled = true;
  try {
    const fresh = await api.takeBackTransfer(t.channel, t.sid);
    t.tookBack = fresh.status === "failed";
    transferUpdated(task, fresh);
    render();
    ui.replyText.focus();
  } catch (err) {
    toast(`Could not take back the transfer: ${err.message}`);
    api.transfer(t.channel, t.sid).then((fresh) => transferUpdated(task, fresh), () => {});
  } finally {
    ui.transferTakeBack.disabled = false;
  }
}

/** The supervisor joins the monitored chat: it becomes a participant and the reply box opens. */
async function joinMonitored() {
  const t = monitor;
  if (!t || !t.channel) return;
  ui.monitorJoin.disabled = true;
  try {
    await api.joinAsSupervisor(t.channel);
    t.joined = true;
    renderConversation();
    toast(`You joined the chat with ${t.customerName}`);
    ui.replyText.focus();
  } catch (err) {
    toast(`Could not join the chat: ${err.message}`);
  } finally {
    ui.monitorJoin.disabled = false;
  }
}

function sendReply(ev) {
  ev.preventDefault();
  const task = selected && (selected.kind === "task" ? tasks.get(selected.sid) : monitor && monitor.joined && monitor);
  const body = ui.replyText.value.trim();
  if (!task || !task.transcript) return;
  const draft = attachments.current(task.conversationSid);
  if (draft && draft.state === "uploading") return attachments.stillUploading();
  if (!body && !draft) return;
  const media = attachments.take(task.conversationSid);
  ui.replyText.value = "";
  autoGrow();
  typingSender.sent(task.conversationSid);
  const cmid = newId();
  task.transcript.addPending(cmid, body, media);
  const attributes = JSON.stringify({ client_message_id: cmid });
  client.sendMessage(task.conversationSid, body, cmid, attributes, media.map((m) => m.sid)).then(
    (message) => task.transcript.place(message),
    (err) => task.transcript.fail(cmid, err.message),
  );
}

/** The conversation the reply box writes in: the selected task's, or the monitored chat the supervisor joined. */
function writableSelected() {
  const holder = selected && (selected.kind === "task" ? tasks.get(selected.sid) : monitor?.joined && monitor);
  return holder && holder.conversationSid ? holder : null;
}

function typed() {
  autoGrow();
  const holder = writableSelected();
  if (holder && ui.replyText.value.trim()) typingSender.typed(holder.conversationSid);
}

function autoGrow() {
  ui.replyText.style.height = "auto";
  ui.replyText.style.height = `${Math.min(ui.replyText.scrollHeight, 160)}px`;
}

function select(next) {
  if (monitor && !(next && next.kind === "monitor" && next.sid === monitor.taskSid)) {
    if (!tasksHaveConversation(monitor.conversationSid)) client.unsubscribe(monitor.conversationSid);
    monitor.typing.clear();
    monitor.transcript.dispose();
    monitor = null;
  }
  if (!selected || !next || selected.sid !== next.sid) ui.wrapupError.textContent = "";
  selected = next;
  const task = next && next.kind === "task" && tasks.get(next.sid);
  if (task && !document.hidden) markSeen(task);
  render();
}

const isSelectedTask = (sid) => Boolean(selected && selected.kind === "task" && selected.sid === sid);
const tasksHaveConversation = (sid) => [...tasks.values()].some((t) => t.conversationSid === sid);

function openMonitored(t) {
  const own = [...tasks.values()].find((x) => x.conversationSid === t.conversationSid);
  if (own) return select({ kind: "task", sid: own.taskSid });
  if (!monitor || monitor.taskSid !== t.taskSid) {
    select(null);
    monitor = { ...t, transcript: new Transcript({ label: `Conversation with ${t.customerName}`, isOwn,
      token: () => me.token }) };
    monitor.typing = new TypingPeople(() => renderTyping());
    const watched = monitor;
    follow(watched, (frame) => {
      if (monitor !== watched) return;
      if (frame.event === "typing") return noteTyping(watched, frame.data || {});
      watched.transcript.handle(frame);
      if (frame.event === "message.added") watched.typing.stopped((frame.data || {}).author);
    });
  }
  select({ kind: "monitor", sid: t.taskSid });
}

/** Keeps the monitored task's status current; a task that left the live list has been completed or canceled. */
function refreshMonitored() {
  if (!monitor) return;
  const live = supervisor.find(monitor.taskSid);
  monitor.status = live ? live.status : "ended";
  scheduleRender();
}

// --- rendering -----------------------------------------------------------------------------------------

function render() {
  renderMissed();
  renderIncoming();
  renderTasks();
  renderConversation();
}

const listFormat = new Intl.ListFormat("en", { type: "conjunction" });

function renderMissed() {
  // The REST answer of a status change can come before its event: the worker has left that activity.
  const show = Boolean(missed && !missed.dismissed && activity && activity.current === missed.activitySid);
  ui.missed.hidden = !show;
  const text = !show ? "" : `You missed ${missed.names.length > 1 ? "chats" : "a chat"} from ` +
    `${listFormat.format(missed.names)} — your status was set to ${missed.activityName}. ` +
    "Set yourself Available to receive chats again.";
  if (ui.missedText.textContent !== text) ui.missedText.textContent = text; // announced once, not per render
}

async function setAvailableAgain() {
  ui.missedAvailable.disabled = true;
  try {
    const name = await activity.goAvailable();
    missed = null;
    render();
    ui.activity.focus();
    toast(`Your status is now ${name}.`);
  } catch (err) {
    toast(`Could not change your status: ${err.message}`);
  } finally {
    ui.missedAvailable.disabled = false;
  }
}

function dismissMissed() {
  if (!missed) return;
  missed.dismissed = true;
  sessionStorage.setItem(missedKey(), String(missed.seq));
  render();
  ui.activity.focus();
}

function renderIncoming() {
  const pending = [...reservations.values()];
  const cards = new Map([...ui.incoming.children].map((li) => [li.dataset.sid, li]));
  for (const [sid, li] of cards) if (!reservations.has(sid)) li.remove();
  for (const r of pending) if (!cards.has(r.sid)) ui.incoming.append(incomingCard(r, answer));
  ui.incomingEmpty.hidden = pending.length > 0;
  ui.incomingEmpty.textContent = activity && activity.isAvailable ? "Waiting for new chats…"
    : "No incoming tasks. Set your status to Available to receive chats.";
  ui.incomingCount.textContent = pending.length ? String(pending.length) : "";
}

function tickCountdowns() {
  for (const li of ui.incoming.children) {
    const r = reservations.get(li.dataset.sid);
    if (r) updateCountdown(li, r);
  }
}

function renderTasks() {
  const list = [...tasks.values()];
  const focused = document.activeElement && document.activeElement.dataset.taskSid;
  const onSelect = (t) => select({ kind: "task", sid: t.taskSid });
  ui.tasks.replaceChildren(...list.map((t) => taskItem(t, isSelectedTask(t.taskSid), onSelect)));
  if (focused) ui.tasks.querySelector(`[data-task-sid="${focused}"]`)?.focus();
  ui.tasksEmpty.hidden = list.length > 0;
  ui.tasksCount.textContent = list.length ? String(list.length) : "";
  if (supervisor) supervisor.render();
}

function renderConversation() {
  const task = selected && (selected.kind === "task" ? tasks.get(selected.sid) : monitor);
  ui.placeholder.hidden = Boolean(task);
  ui.conversation.hidden = !task;
  ui.placeholderText.textContent = me.role === "supervisor" && !tasks.size
    ? "Select an active task to monitor its conversation" : "No conversation selected";
  if (contextPanel) contextPanel.show(task && task.conversationSid ? task : null, me);
  if (!task) return attachments.show(null);
  // A supervisor who joined the chat writes in it; until then it only watches.
  const readOnly = selected.kind === "monitor" && !task.joined;
  attachments.show(readOnly ? null : task.conversationSid);
  ui.conversationAvatar.textContent = initial(task.customerName);
  ui.conversationTitle.textContent = task.customerName;
  // The customer's address on a phone channel (SMS, WhatsApp, Messenger), so the agent knows who is texting.
  const address = task.channelType && task.channelType !== "web" && task.customerAddress !== task.customerName
    ? task.customerAddress.replace(/^(whatsapp|messenger):/, "") : null;
  ui.conversationMeta.textContent = [channelLabel(task.channelType), address,
    task.queueName && `${task.queueName} queue`].filter(Boolean).join(" · ");
  ui.conversationStatus.textContent = statusLabel(task.status);
  ui.conversationStatus.className = `chip chip--${task.status}`;
  ui.wrapUp.hidden = readOnly || task.status !== "assigned";
  ui.taskActionsOpen.hidden = !(selected.kind === "monitor" && taskActions && actionsFor(task).length);
  renderTransfer(task, readOnly);
  ui.wrapup.hidden = readOnly || task.status !== "wrapping";
  for (const input of dispositionInputs) {
    const checked = !readOnly && input.value === task.disposition;
    if (input.checked !== checked) input.checked = checked;
  }
  ui.reply.hidden = readOnly;
  ui.readonlyNote.hidden = !readOnly;
  ui.monitorJoin.hidden = !readOnly || !task.channel || !["assigned", "wrapping", "pending", "reserved"]
    .includes(task.status);
  ui.replyLabel.textContent = `Reply to ${task.customerName}`;
  ui.replyText.placeholder = `Reply to ${task.customerName}…`;
  const log = task.transcript ? task.transcript.el : null;
  if (log && ui.transcriptSlot.firstChild !== log) {
    ui.transcriptSlot.replaceChildren(log);
    task.transcript.scroll();
  } else if (!log) {
    ui.transcriptSlot.replaceChildren();
  }
  renderTyping();
}

/** "Carol is typing…" under the shown transcript (a polite live region: said once per change). */
function renderTyping() {
  const holder = selected && (selected.kind === "task" ? tasks.get(selected.sid) : monitor);
  const text = holder && holder.typing ? holder.typing.text : "";
  if (ui.typing.textContent !== text) ui.typing.textContent = text;
}

/** The sender's transfer (status, take back) and, on a transferred task, who sent it and the note. */
function renderTransfer(task, readOnly) {
  const sent = readOnly ? null : task.transfer;
  const waiting = Boolean(sent && sent.status === "active");
  ui.transferOpen.hidden = readOnly || !me.workerSid || task.status !== "assigned" || waiting ||
    !channelOf(task.attrs);
  const text = sent ? transferStatusText(sent) : "";
  if (ui.transferStatusText.textContent !== text) ui.transferStatusText.textContent = text; // announced once
  ui.transferStatus.dataset.state = sent ? transferState(sent) : "";
  ui.transferTakeBack.hidden = !(waiting && sent.type === "warm");
  const received = readOnly ? null : transferInfo(task.attrs);
  ui.transferReceived.hidden = !received;
  if (received) {
    const line = document.createElement("strong");
    line.textContent = `${transferLine(received)}.`;
    const parts = [line];
    if (received.note) {
      const label = document.createElement("span");
      label.className = "handover__label";
      label.textContent = "Note: ";
      parts.push(" ", label, received.note);
    }
    const key = `${line.textContent}\n${received.note}`;
    if (ui.transferReceived.dataset.key !== key) {
      ui.transferReceived.replaceChildren(...parts);
      ui.transferReceived.dataset.key = key;
    }
  }
}

// --- session -------------------------------------------------------------------------------------------

const SIGNED_OUT_KEY = "parley.agent.signedOut"; // the sign-out outcome, shown on the sign-in page after reload

function showSignin(message = "", notice = null) {
  ui.signin.hidden = false;
  ui.layout.hidden = true;
  ui.topbarRight.hidden = true;
  ui.signinError.textContent = message;
  ui.signinToken.focus();
  offerSso();
  if (notice) {
    ui.signinNotice.dataset.kind = notice.ok ? "ok" : "warning";
    ui.signinNotice.setAttribute("role", notice.ok ? "status" : "alert");
    // Filled after the page settles, so the (polite) live region announces it.
    setTimeout(() => (ui.signinNotice.textContent = notice.text), 100);
  }
}

let ssoOffered = false;

/** "Sign in with SSO" when the server has single sign-on (docs/security/sso.md); the token form stays. */
async function offerSso() {
  if (ssoOffered) return;
  ssoOffered = true;
  const config = await ssoConfig(); // no answer: the token form is the way in
  if (!config.enabled || !config.login_url) return;
  ui.signinSso.hidden = false;
  ui.signinSsoButton.addEventListener("click", () => location.assign(config.login_url));
  // The first way in comes first, unless the agent has already started on the token.
  if (document.activeElement === ui.signinToken && !ui.signinToken.value) ui.signinSsoButton.focus();
}

/**
 * Single sign-on hands the token over in the fragment (browsers never send it to a server): keep it, clear the
 * bar. After signing out, `sso_logout=incomplete` says the identity provider's session could not be ended.
 */
function takeSsoToken() {
  const fragment = new URLSearchParams(location.hash.slice(1));
  const token = fragment.get("token");
  if (!token && !fragment.has("sso_logout")) return;
  if (token) storeToken(token);
  if (fragment.get("sso_logout") === "incomplete") ssoLogoutIncomplete = true;
  history.replaceState(null, "", location.pathname + location.search);
}

let ssoLogoutIncomplete = false;

function takeSignedOutNotice() {
  const notice = parseJson(sessionStorage.getItem(SIGNED_OUT_KEY));
  sessionStorage.removeItem(SIGNED_OUT_KEY);
  if (!notice.text) return null;
  if (ssoLogoutIncomplete) {
    notice.ok = false;
    notice.text += " You are still signed in at your identity provider: sign out there too if others use this computer.";
  }
  return notice;
}

const within = (ms, promise) => Promise.race([
  promise, new Promise((_, reject) => setTimeout(() => reject(new Error("the server did not answer")), ms)),
]);

/**
 * Signing out first sets the worker offline (otherwise it stays Available and keeps being offered chats that
 * time out), then forgets the token. If the status cannot be changed the agent is still signed out, and told.
 * Accepted tasks stay the worker's (as in Flex).
 */
async function signOut() {
  ui.signOut.disabled = true;
  ui.signOut.textContent = "Signing out…";
  let notice = { ok: true, text: "You have signed out." };
  if (activity) {
    try {
      const name = await within(10000, activity.goOffline());
      notice = { ok: true, text: `You have signed out. Your status is now ${name}.` };
    } catch (err) {
      const still = activity.nameOf(activity.current);
      notice = {
        ok: false,
        text: `You have signed out, but your status could not be changed (${err.message.replace(/\.$/, "")}). ` +
          (still ? `You are still ${still}` : "Your status is unchanged") +
          " and may be offered chats: sign in again and set your status to Offline.",
      };
    }
  }
  if (client) client.close();
  if (supervisor) supervisor.stop();
  if (keeper) keeper.stop();
  forgetToken();
  sessionStorage.setItem(SIGNED_OUT_KEY, JSON.stringify(notice));
  // A single sign-on ends at the identity provider too, which sends the browser back to the sign-in page.
  const { logout_url: logoutUrl } = me.sso ? await ssoConfig() : {};
  if (logoutUrl) location.assign(logoutUrl);
  else location.reload();
}

/** Back to the sign-in page; from a single sign-on, straight on to the identity provider. */
async function signInAgain() {
  forgetToken();
  const { login_url: loginUrl } = me && me.sso ? await ssoConfig() : {};
  if (loginUrl) location.assign(loginUrl);
  else location.reload();
}

function sessionExpired(message) {
  if (client) client.close();
  if (supervisor) supervisor.stop();
  if (keeper) keeper.stop();
  clearInterval(endingTimer);
  showBanner(ui.banner, message || "Your session has expired.", "Sign in again", signInAgain);
}

/** A renewed token: the socket switches to it (and reconnects with it), REST calls and downloads use it. */
function adoptToken(token) {
  me.token = token;
  me.expiresAt = decodeToken(token).expiresAt;
  storeToken(token);
  api.setToken(token);
  if (client) client.updateToken(token).catch(() => {}); // refused or offline: the next connect uses it anyway
}

let endingTimer = null;

/** The token will not be renewed: say so, minute by minute, until it expires (the socket then says it has). */
function sessionEnding(endsAt, why) {
  clearInterval(endingTimer);
  let shown = null;
  const say = () => {
    const minutes = Math.max(1, Math.ceil((endsAt - Date.now()) / 60000));
    if (Date.now() >= endsAt) return clearInterval(endingTimer);
    if (minutes === shown) return;
    shown = minutes;
    const when = minutes === 1 ? "1 minute" : `${minutes} minutes`;
    const reason = why.replace(/\s*Please sign in again\.?$/, ""); // the banner says so already
    const text = `Your session ends in ${when} — sign in again.${reason ? ` ${reason}` : ""}`;
    showBanner(ui.banner, text, "Sign in again", signInAgain);
  };
  say();
  endingTimer = setInterval(say, 5000);
}

/** A single sign-on token that expired while the page was closed (or asleep) may still be renewed. */
async function renewExpired(token) {
  const renewed = await renewToken(token);
  if (renewed.token) {
    storeToken(renewed.token);
    return start(renewed.token);
  }
  forgetToken();
  showSignin("Your session has expired. Please sign in again.");
}

function start(token) {
  try {
    me = { ...decodeToken(token), token, sso: isSsoToken(token) };
  } catch (err) {
    forgetToken();
    return showSignin(err.message);
  }
  if (me.expiresAt && me.expiresAt < Date.now()) {
    if (me.sso) return renewExpired(token);
    forgetToken();
    return showSignin("That access token has expired. Ask for a new one.");
  }
  document.title = `${me.identity} · Parley`;
  alerts.setTitle(document.title);
  ui.signin.hidden = true;
  ui.layout.hidden = false;
  ui.topbarRight.hidden = false;
  ui.meName.textContent = me.identity;
  ui.meAvatar.textContent = initial(me.identity);
  ui.roleBadge.hidden = me.role !== "supervisor";
  api = new Api(token, me.workspaceSid, { onUnauthorized: (msg) => sessionExpired(msg) });
  contextPanel = new ContextPanel(ui.context, api, {
    onError: (status, msg) => status === 401 && sessionExpired(msg),
    onClose: () => {
      setContextOpen(false);
      ui.contextToggle.focus();
    },
  });
  canned = new CannedPicker({
    textarea: ui.replyText, list: ui.cannedList, button: ui.cannedOpen, load: () => api.cannedResponses(),
    names: () => ({ customer: (selectedTask() || monitor || {}).customerName || "", agent: myName() }),
    onInsert: autoGrow,
  });
  setContextOpen(defaultContextOpen());
  new HistorySearch({ form: $("search-form"), input: $("search-input"), results: $("search-results"),
    status: $("search-status"), api });
  client = new RealtimeClient(() => me.token, {
    onStatus: (status) => showConnection(ui.connection, status),
    onAuthError: sessionExpired,
    onSubscribeError: (stream, err) => toast(`Could not follow ${stream}: ${err.message}`),
    onRead: (conversationSid, index) => {
      for (const task of tasks.values()) if (task.conversationSid === conversationSid) serverRead(task, index);
    },
  });
  ui.incomingSection.hidden = ui.tasksSection.hidden = !me.workerSid;
  if (me.workerSid) {
    client.subscribe(me.workerSid, 0, onWorkerEvent); // replays history, rebuilding offers and tasks
    ui.activityControl.hidden = false;
    activity = new ActivityControl({ api, workerSid: me.workerSid, select: ui.activity, dot: ui.activityDot,
      onError: toast, onChange: scheduleRender });
    activity.load();
    transferDialog = new TransferDialog({
      api, me, el: ui.transferDialog, onSent: transferSent,
      onInvited: (task, name) => toast(`${name} is invited to the chat with ${task.customerName}.`),
    });
  }
  if (me.role === "supervisor") {
    ui.productName.textContent = "Supervisor desktop";
    ui.monitorSection.hidden = false;
    ui.overview.hidden = false;
    ui.layout.classList.add("layout--supervisor");
    const agents = new AgentsPanel({ api, root: ui.overview });
    supervisor = new SupervisorView({
      api, list: ui.monitor, empty: ui.monitorEmpty, count: ui.monitorCount, updated: ui.monitorUpdated,
      onOpen: openMonitored, onError: toast, onRefresh: refreshMonitored,
      isSelected: (sid) => Boolean(selected && selected.sid === sid),
      panels: [new QueuesPanel({ api, root: ui.overview }), agents], agents,
    });
    supervisor.start();
    const cannedAdmin = new CannedAdminDialog({ api, el: $("canned-admin-dialog"), onChanged: () => canned.forget() });
    $("canned-admin-open").addEventListener("click", (ev) => cannedAdmin.open(ev.currentTarget));
    taskActions = new TaskActionsDialog({
      api, el: ui.taskActionsDialog,
      onDone: (message) => {
        toast(message);
        supervisor.refresh();
      },
    });
  }
  client.connect();
  keeper = new SessionKeeper({ token, onRenewed: adoptToken, onEnding: sessionEnding });
  keeper.start();
  setInterval(tickCountdowns, 1000);
  render();
}

/** How the agent is named to customers (a canned response's {{agent.name}}): the worker's full name if known. */
function myName() {
  const name = me.identity || "";
  return name.charAt(0).toUpperCase() + name.slice(1);
}

function defaultContextOpen() {
  const stored = localStorage.getItem(CONTEXT_KEY);
  if (stored !== null && wideScreen.matches) return stored === "open";
  return wideScreen.matches && me.role !== "supervisor";
}

function setContextOpen(open) {
  ui.context.dataset.open = String(open);
  ui.contextToggle.setAttribute("aria-expanded", String(open));
}

ui.contextToggle.addEventListener("click", () => {
  const open = ui.context.dataset.open !== "true";
  setContextOpen(open);
  if (wideScreen.matches) localStorage.setItem(CONTEXT_KEY, open ? "open" : "closed");
  if (open) ui.context.querySelector("textarea")?.focus({ preventScroll: true });
});
wideScreen.addEventListener("change", () => setContextOpen(defaultContextOpen()));
document.addEventListener("keydown", (ev) => {
  if (ev.key === "Escape" && !wideScreen.matches && ui.context.dataset.open === "true") {
    setContextOpen(false);
    ui.contextToggle.focus();
  }
});

ui.signinForm.addEventListener("submit", (ev) => {
  ev.preventDefault();
  const token = ui.signinToken.value.trim();
  if (!token) return;
  storeToken(token);
  location.reload();
});
ui.signOut.addEventListener("click", signOut);
ui.missedAvailable.addEventListener("click", setAvailableAgain);
ui.missedDismiss.addEventListener("click", dismissMissed);
ui.wrapUp.addEventListener("click", wrapUp);
ui.wrapup.addEventListener("submit", complete);
ui.transferOpen.addEventListener("click", openTransfer);
ui.taskActionsOpen.addEventListener("click", () => {
  if (monitor && taskActions) taskActions.open(monitor, ui.taskActionsOpen);
});
ui.transferTakeBack.addEventListener("click", takeBack);
for (const input of dispositionInputs) {
  input.addEventListener("change", () => {
    const task = selectedTask();
    if (task && input.checked) task.disposition = input.value;
  });
}
ui.reply.addEventListener("submit", sendReply);
for (const { key, label } of ALERT_KINDS) {
  const row = document.createElement("label");
  row.className = "alerts__option";
  const box = document.createElement("input");
  box.type = "checkbox";
  box.checked = alerts.settings[key];
  box.addEventListener("change", async () => {
    box.checked = await alerts.set(key, box.checked);
    ui.alertsHint.hidden = !(key === "browser" && box.checked && alerts.notificationsBlocked);
  });
  row.append(box, ` ${label}`);
  ui.alertsPanel.append(row);
}
ui.monitorJoin.addEventListener("click", joinMonitored);
ui.replyText.addEventListener("input", typed);
ui.replyText.addEventListener("keydown", (ev) => {
  if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) {
    ev.preventDefault();
    ui.reply.requestSubmit();
  }
});
document.addEventListener("visibilitychange", () => {
  const task = !document.hidden && selected && selected.kind === "task" && tasks.get(selected.sid);
  if (task) {
    markSeen(task);
    scheduleRender();
  }
});

takeSsoToken();
const token = takeToken();
if (token) start(token);
else showSignin("", takeSignedOutNotice());
