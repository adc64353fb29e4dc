// Keeping the desktop's session going (docs/agent-desktop.md, docs/security/sso.md). A token from single sign-on
// is renewed before it expires (POST /parley/v1/Sso/Refresh, in the browser that signed in: its session cookie
// goes along) and the new one handed to the page, which switches its socket (`update_token`) and its REST calls
// to it. A token that cannot be renewed (a pasted one, or a sign-in that reached its limit) is announced some
// minutes before it expires instead, so the agent signs in again rather than being cut off mid-chat. How long
// before comes from GET /parley/v1/Sso/Config (`renew_before`).

const RETRY_MS = 30000; // after a renewal that got no answer (offline, a server error), try again this much later

let config = null;

/** The server's single sign-on settings (cached once answered; {} while it cannot be asked). */
export async function ssoConfig() {
  if (config) return config;
  try {
    const res = await fetch("/parley/v1/Sso/Config", { headers: { Accept: "application/json" } });
    if (res.ok) config = await res.json();
  } catch {
    // no answer: asked again next time
  }
  return config || {};
}

/** The token's claims (no signature check: the server verifies; the page only needs its times and grants). */
export function tokenClaims(token) {
  try {
    const part = String(token).split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    return JSON.parse(atob(part + "=".repeat((4 - (part.length % 4)) % 4)));
  } catch {
    return {};
  }
}

/** Whether single sign-on minted the token (only such a token is renewed). */
export const isSsoToken = (token) => Boolean((tokenClaims(token).grants || {}).sso);

/**
 * Exchanges a single sign-on token for a new one. Resolves { token } on success, { refused: message } when the
 * server says the person must sign in again (401, 403), or { failed: true } when it could not be asked.
 */
export async function renewToken(token) {
  const { refresh_url: url } = await ssoConfig();
  if (!url) return { failed: true };
  let res;
  try {
    res = await fetch(url, { method: "POST", body: new URLSearchParams({ Token: token }) });
  } catch {
    return { failed: true };
  }
  const body = await res.json().catch(() => ({}));
  if (res.ok && body.token) return { token: body.token };
  if (res.status === 401 || res.status === 403) return { refused: body.message || "Your session has ended." };
  return { failed: true };
}

export class SessionKeeper {
  /**
   * @param {object} opts
   * @param {string} opts.token                      the page's token now
   * @param {(token: string) => void} opts.onRenewed  a renewed token: the page uses it from now on
   * @param {(endsAt: number, why: string) => void} opts.onEnding  the token expires at `endsAt` (ms) and will not be renewed
   */
  constructor({ token, onRenewed, onEnding }) {
    this.token = token;
    this.onRenewed = onRenewed;
    this.onEnding = onEnding;
    this.timer = null;
    this.stopped = false;
  }

  async start() {
    const { renew_before: renewBefore } = await ssoConfig();
    this.renewBefore = (Number(renewBefore) || 300) * 1000;
    this.schedule();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  /** Renews (or warns) `renew_before` ahead of the expiry, or half-way through a shorter token's life. */
  schedule() {
    clearTimeout(this.timer);
    if (this.stopped) return;
    const { nbf, exp } = tokenClaims(this.token);
    if (!exp) return;
    const expiresAt = exp * 1000;
    const lifetime = nbf ? expiresAt - nbf * 1000 : 3600 * 1000;
    const at = expiresAt - Math.min(this.renewBefore, lifetime / 2);
    this.timer = setTimeout(() => this.due(), Math.max(0, at - Date.now()));
  }

  async due() {
    if (this.stopped) return;
    const expiresAt = (tokenClaims(this.token).exp || 0) * 1000;
    if (!isSsoToken(this.token)) {
      this.onEnding(expiresAt, "");
      return;
    }
    const renewed = await renewToken(this.token);
    if (this.stopped) return;
    if (renewed.token) {
      this.token = renewed.token;
      this.onRenewed(renewed.token);
      this.schedule();
    } else if (renewed.refused) {
      this.onEnding(expiresAt, renewed.refused);
    } else if (Date.now() + RETRY_MS < expiresAt) {
      this.timer = setTimeout(() => this.due(), RETRY_MS);
    } else {
      this.onEnding(expiresAt, "Parley could not be reached to renew your session.");
    }
  }
}
