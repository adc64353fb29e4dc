// Access-token handling and the REST calls the agent desktop makes (with the token in X-Twilio-Token).

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

  async request(method, path, form) {
    const init = { method, headers: { "X-Twilio-Token": this.token, Accept: "application/json" } };
    if (form) init.body = form instanceof URLSearchParams ? form : new URLSearchParams(form);
    let res;
    try {
      res = await fetch(this.base + path, init);
    } catch {
      throw new ApiError(0, null, "Network error: the server could not be reached.");
    }
    const body = await res.json().catch(() => ({}));
    if (!res.ok) {
      if (res.status === 401 && this.onUnauthorized) this.onUnauthorized(body.message);
      throw new ApiError(res.status, body.code, body.message);
    }
    return body;
  }

  activities() {
    return this.request("GET", "/Activities?PageSize=100").then((b) => b.activities || []);
  }

  worker(workerSid) {
    return this.request("GET", `/Workers/${workerSid}`);
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

  activeTasks() {
    const q = new URLSearchParams({ PageSize: "100" });
    for (const s of ["pending", "reserved", "assigned", "wrapping"]) q.append("AssignmentStatus", s);
    return this.request("GET", `/Tasks?${q}`).then((b) => b.tasks || []);
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
