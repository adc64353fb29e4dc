// Access-token handling and the REST calls the agent desktop makes (with the token in X-Twilio-Token):
// TaskRouter under the token's workspace, a conversation's participants, and the Flex Interactions calls of a
// task's channel.

const TOKEN_KEY = "parley.agent.token";

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message || `Request failed (HTTP ${status})`);
    this.status = status;
    this.code = code;
  }
}

function base64UrlDecode(part) {
  const b64 = part.replace(/-/g, "+").replace(/_/g, "/").padEnd(Math.ceil(part.length / 4) * 4, "=");
  const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  return new TextDecoder().decode(bytes);
}

/** The token's claims (no signature check: the server verifies; the page only needs to read them). */
export function decodeToken(token) {
  const parts = String(token || "").split(".");
  if (parts.length !== 3) throw new Error("This is not an access token.");
  const claims = JSON.parse(base64UrlDecode(parts[1]));
  const grants = claims.grants || {};
  const tr = grants.task_router || {};
  if (!tr.workspace_sid) throw new Error("The access token has no TaskRouter grant.");
  return {
    identity: grants.identity || tr.worker_sid || "agent",
    workspaceSid: tr.workspace_sid,
    workerSid: tr.worker_sid || null,
    role: tr.role === "supervisor" ? "supervisor" : "worker",
    expiresAt: claims.exp ? claims.exp * 1000 : null,
  };
}

/** Takes `?token=` off the URL (so it is not bookmarked or shared) into sessionStorage. */
export function takeToken() {
  const url = new URL(location.href);
  const fromUrl = url.searchParams.get("token");
  if (fromUrl) {
    sessionStorage.setItem(TOKEN_KEY, fromUrl);
    url.searchParams.delete("token");
    history.replaceState(null, "", url.pathname + url.search + url.hash);
  }
  return sessionStorage.getItem(TOKEN_KEY);
}

export function storeToken(token) {
  sessionStorage.setItem(TOKEN_KEY, token);
}

export function forgetToken() {
  sessionStorage.removeItem(TOKEN_KEY);
}

export class Api {
  constructor(token, workspaceSid, { onUnauthorized } = {}) {
    this.token = token;
    this.base = `/taskrouter/v1/Workspaces/${workspaceSid}`;
    this.onUnauthorized = onUnauthorized;
  }

  /** A renewed token (docs/security/sso.md): every later call carries it. */
  setToken(token) {
    this.token = token;
  }

  /**
   * One call to `url` with the token: a form body (`form`), a JSON body (`json`), extra `headers`. Resolves
   * with { body, res }; rejects with an ApiError carrying the server's Twilio error (code, message).
   */
  async send(method, url, { form, json, headers = {} } = {}) {
    const init = { method, headers: { "X-Twilio-Token": this.token, Accept: "application/json", ...headers } };
    if (json !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(json);
    } else if (form) {
      init.body = form instanceof URLSearchParams ? form : new URLSearchParams(form);
    }
    let res;
    try {
      res = await fetch(url, init);
    } catch {
      throw new ApiError(0, null, "Network error: the server could not be reached.");
    }
    const body = await res.json().catch(() => ({}));
    if (!res.ok) {
      if (res.status === 401 && this.onUnauthorized) this.onUnauthorized(body.message);
      throw new ApiError(res.status, body.code, body.message);
    }
    return { body, res };
  }

  /** A TaskRouter call under this workspace. */
  async request(method, path, form) {
    return (await this.send(method, this.base + path, { form })).body;
  }

  activities() {
    return this.request("GET", "/Activities?PageSize=100").then((b) => b.activities || []);
  }

  worker(workerSid) {
    return this.request("GET", `/Workers/${workerSid}`);
  }

  /** The workspace's workers (transfer targets). */
  workers() {
    return this.request("GET", "/Workers?PageSize=200").then((b) => b.workers || []);
  }

  taskQueues() {
    return this.request("GET", "/TaskQueues?PageSize=200").then((b) => b.task_queues || []);
  }

  /** rejectPending: also reject the worker's pending offers (only for an unavailable activity). */
  setActivity(workerSid, activitySid, { rejectPending = false } = {}) {
    const form = { ActivitySid: activitySid };
    if (rejectPending) form.RejectPendingReservations = "true";
    return this.request("POST", `/Workers/${workerSid}`, form);
  }

  answerReservation(workerSid, reservationSid, status) {
    return this.request("POST", `/Workers/${workerSid}/Reservations/${reservationSid}`, { ReservationStatus: status });
  }

  task(taskSid) {
    return this.request("GET", `/Tasks/${taskSid}`);
  }

  setTaskStatus(taskSid, status) {
    return this.request("POST", `/Tasks/${taskSid}`, { AssignmentStatus: status });
  }

  /** A supervisor (or the account) cancels a pending or reserved task; the reason is kept with it. */
  cancelTask(taskSid, reason) {
    return this.request("POST", `/Tasks/${taskSid}`, { AssignmentStatus: "canceled", Reason: reason });
  }

  /**
   * Merges into the task's current attributes: `change(attributes)` returns the new object. Sent with the
   * version read (If-Match), so a concurrent change is never overwritten; on a conflict it reads again, once.
   */
  async mergeTaskAttributes(taskSid, change) {
    for (let attempt = 0; ; attempt++) {
      const { body, res } = await this.send("GET", `${this.base}/Tasks/${taskSid}`);
      const attributes = change(parseJson(body.attributes));
      const etag = res.headers.get("ETag");
      try {
        const sent = await this.send("POST", `${this.base}/Tasks/${taskSid}`, {
          form: { Attributes: JSON.stringify(attributes) }, headers: etag ? { "If-Match": etag } : {},
        });
        return sent.body;
      } catch (err) {
        if (!(err instanceof ApiError && err.status === 412) || attempt > 0) throw err;
      }
    }
  }

  activeTasks() {
    const q = new URLSearchParams({ PageSize: "100" });
    for (const s of ["pending", "reserved", "assigned", "wrapping"]) q.append("AssignmentStatus", s);
    return this.request("GET", `/Tasks?${q}`).then((b) => b.tasks || []);
  }

  /** A task's reservations in `status` (pending, accepted, wrapping…), each with its `routing_decision`. */
  taskReservations(taskSid, status) {
    const q = new URLSearchParams({ PageSize: "50" });
    if (status) q.set("ReservationStatus", status);
    return this.request("GET", `/Tasks/${taskSid}/Reservations?${q}`).then((b) => b.reservations || []);
  }

  /** A worker's capacity, load and availability per task channel. */
  workerChannels(workerSid) {
    return this.request("GET", `/Workers/${workerSid}/Channels?PageSize=50`).then((b) => b.channels || []);
  }

  // --- TaskRouter statistics (admins and supervisors) ---

  /** The workspace now: tasks by status, the longest waiting task, workers by activity. */
  workspaceStatistics() {
    return this.request("GET", "/RealTimeStatistics");
  }

  /** Each queue's real-time figures and its cumulative ones over the last 15 minutes (the default window). */
  taskQueuesStatistics() {
    return this.request("GET", "/TaskQueues/Statistics?PageSize=200").then((b) => b.task_queues_statistics || []);
  }

  /** A conversation's participants, each with its read horizon (`last_read_message_index`). */
  conversationParticipants(conversationSid) {
    return this.send("GET", `/conversations/v1/Conversations/${conversationSid}/Participants?PageSize=100`)
      .then(({ body }) => body.participants || []);
  }

  // --- the desktop's tools (Parley): private notes, customer history, canned responses -----------------

  notes(conversationSid) {
    return this.send("GET", `/parley/v1/Conversations/${conversationSid}/Notes`).then(({ body }) => body.notes || []);
  }

  addNote(conversationSid, text) {
    return this.send("POST", `/parley/v1/Conversations/${conversationSid}/Notes`, { form: { Body: text } })
      .then(({ body }) => body);
  }

  deleteNote(conversationSid, noteSid) {
    return this.send("DELETE", `/parley/v1/Conversations/${conversationSid}/Notes/${noteSid}`);
  }

  customerHistory(conversationSid) {
    return this.send("GET", `/parley/v1/Conversations/${conversationSid}/CustomerHistory`)
      .then(({ body }) => body.conversations || []);
  }

  search(query) {
    return this.send("GET", `/parley/v1/ConversationSearch?Query=${encodeURIComponent(query)}`)
      .then(({ body }) => body.conversations || []);
  }

  get cannedBase() {
    return `/parley/v1/Workspaces/${this.base.split("/").pop()}/CannedResponses`;
  }

  cannedResponses() {
    return this.send("GET", this.cannedBase).then(({ body }) => body.canned_responses || []);
  }

  createCanned(form) {
    return this.send("POST", this.cannedBase, { form }).then(({ body }) => body);
  }

  updateCanned(sid, form) {
    return this.send("POST", `${this.cannedBase}/${sid}`, { form }).then(({ body }) => body);
  }

  deleteCanned(sid) {
    return this.send("DELETE", `${this.cannedBase}/${sid}`);
  }

  // --- Flex Interactions: the channel a task belongs to (its attributes' flexInteractionSid / ChannelSid) ---

  channelPath({ interactionSid, channelSid }) {
    return `/flex-api/v1/Interactions/${interactionSid}/Channels/${channelSid}`;
  }

  participants(channel) {
    return this.send("GET", `${this.channelPath(channel)}/Participants?PageSize=100`)
      .then(({ body }) => body.participants || []);
  }

  /** status: "wrapup" (the participant's task wraps up) or "closed" (it completes). */
  setParticipantStatus(channel, participantSid, status) {
    return this.send("POST", `${this.channelPath(channel)}/Participants/${participantSid}`, { form: { Status: status } })
      .then(({ body }) => body);
  }

  /** routing: { properties: { workspace_sid, worker_sid | queue_sid, attributes } }: a new task on the channel. */
  createInvite(channel, routing) {
    return this.send("POST", `${this.channelPath(channel)}/Invites`, { form: { Routing: JSON.stringify(routing) } })
      .then(({ body }) => body);
  }

  /** A supervisor joins the channel's conversation (barge-in): its token's identity becomes a participant. */
  joinAsSupervisor(channel) {
    return this.send("POST", `${this.channelPath(channel)}/Participants`, {
      form: { Type: "supervisor", MediaProperties: "{}" },
    }).then(({ body }) => body);
  }

  /** body: { type: "cold" | "warm", from: UT…, to: WK… | WQ…, note? } */
  createTransfer(channel, body) {
    return this.send("POST", `${this.channelPath(channel)}/Transfers`, { json: body }).then((r) => r.body);
  }

  transfer(channel, transferSid) {
    return this.send("GET", `${this.channelPath(channel)}/Transfers/${transferSid}`).then((r) => r.body);
  }

  /** The sender takes back a transfer nobody has accepted yet. */
  takeBackTransfer(channel, transferSid) {
    return this.send("POST", `${this.channelPath(channel)}/Transfers/${transferSid}`, { json: { status: "failed" } })
      .then((r) => r.body);
  }
}

export function parseJson(value) {
  if (value && typeof value === "object") return value;
  try {
    return JSON.parse(value || "{}") || {};
  } catch {
    return {};
  }
}
