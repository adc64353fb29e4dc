// Page-level notices of the agent desktop: the connection indicator, toasts and the blocking banner.

const CONNECTION_TEXT = {
  online: "Online", connecting: "Connecting…", reconnecting: "Reconnecting…", offline: "Offline — reconnecting…",
  unauthorized: "Signed out", closed: "Disconnected",
};

export function showConnection(el, status) {
  el.textContent = CONNECTION_TEXT[status] || status;
  el.dataset.status = status;
}

let toastTimer = null;
/** A short, polite, self-dismissing message (the element is a role=status live region). */
export function showToast(el, text) {
  el.textContent = text;
  el.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => (el.hidden = true), 5000);
}

/** A persistent alert with one action button. */
export function showBanner(el, text, actionLabel, onAction) {
  const button = document.createElement("button");
  button.type = "button";
  button.className = "button button--small";
  button.textContent = actionLabel;
  button.addEventListener("click", onAction);
  el.replaceChildren(`${text} `, button);
  el.hidden = false;
}
