// Sidebar pieces of the agent desktop: incoming reservation cards (with their countdown, and for a transferred
// chat who sent it and the note) and task entries.
import { channelLabel, statusLabel } from "./supervisor.js";
import { transferInfo, transferLine } from "./transfer.js";

export const initial = (name) => (name || "?").trim().charAt(0).toUpperCase();

/** A card offering reservation `r`; onAnswer(r, "accepted" | "rejected", card). */
export function incomingCard(r, onAnswer) {
  const name = r.attrs.customerName || "Customer";
  const channel = channelLabel(r.attrs.channelType);
  const li = document.createElement("li");
  li.className = "card";
  li.dataset.sid = r.sid;
  const transfer = transferInfo(r.attrs);
  li.setAttribute("aria-label", `Incoming ${channel} from ${name}` +
    (transfer ? `, ${transfer.mode.toLowerCase()} transfer from ${transfer.by}` : ""));
  li.innerHTML = `
    <div class="card__head"><span class="avatar avatar--customer" aria-hidden="true"></span>
      <div><h3 class="card__title"></h3><p class="card__meta"></p></div></div>
    <div class="card__timer"><div class="card__bar" aria-hidden="true"><span></span></div>
      <span class="card__countdown" role="timer"></span></div>
    <div class="card__actions"><button type="button" class="button button--accept">Accept</button>
      <button type="button" class="button button--secondary">Reject</button></div>
    <p class="card__error" role="alert"></p>`;
  li.querySelector(".avatar").textContent = initial(name);
  li.querySelector(".card__title").textContent = name;
  li.querySelector(".card__meta").textContent = `${channel} · ${transfer ? transferLine(transfer) : "incoming"}`;
  if (transfer) {
    li.classList.add("card--transfer");
    const meta = li.querySelector(".card__meta");
    meta.id = `offer-meta-${r.sid}`;
    const described = [meta.id];
    if (transfer.note) {
      const note = document.createElement("p");
      note.className = "card__note";
      note.id = `offer-note-${r.sid}`;
      const label = document.createElement("span");
      label.className = "card__note-label";
      label.textContent = "Note: ";
      note.append(label, transfer.note);
      li.querySelector(".card__head").after(note);
      described.push(note.id);
    }
    li.setAttribute("aria-describedby", described.join(" "));
  }
  const [accept, reject] = li.querySelectorAll("button");
  accept.setAttribute("aria-label", `Accept ${channel} from ${name}`);
  reject.setAttribute("aria-label", `Reject ${channel} from ${name}`);
  accept.addEventListener("click", () => onAnswer(r, "accepted", li));
  reject.addEventListener("click", () => onAnswer(r, "rejected", li));
  updateCountdown(li, r);
  return li;
}

/** Seconds left are counted from the reservation's creation, so a reload shows the true remaining time. */
export function updateCountdown(li, r) {
  if (!r.timeout) return;
  const left = Math.max(0, Math.round(r.timeout - (Date.now() - r.createdAt) / 1000));
  li.querySelector(".card__countdown").textContent =
    left > 0 ? `${Math.floor(left / 60)}:${String(left % 60).padStart(2, "0")} left` : "Expiring…";
  li.querySelector(".card__bar span").style.width = `${(100 * left) / r.timeout}%`;
  li.classList.toggle("card--urgent", left <= 10);
}

/** The entry of an accepted task in "My tasks"; onSelect(task). */
export function taskItem(task, current, onSelect) {
  const li = document.createElement("li");
  const b = document.createElement("button");
  b.type = "button";
  b.className = "task";
  b.dataset.taskSid = task.taskSid;
  if (current) b.setAttribute("aria-current", "true");
  b.innerHTML = `<span class="avatar avatar--customer" aria-hidden="true"></span>
    <span class="task__body"><span class="task__name"></span><span class="task__preview"></span></span>
    <span class="chip"></span>`;
  b.querySelector(".avatar").textContent = initial(task.customerName);
  b.querySelector(".task__name").textContent = task.customerName;
  b.querySelector(".task__preview").textContent = task.preview || channelLabel(task.channelType);
  const chip = b.querySelector(".chip");
  chip.classList.add(`chip--${task.status}`);
  chip.textContent = statusLabel(task.status);
  if (task.unread) {
    const badge = document.createElement("span");
    badge.className = "unread";
    badge.textContent = String(task.unread);
    badge.setAttribute("aria-label", `${task.unread} unread`);
    b.append(badge);
  }
  b.addEventListener("click", () => onSelect(task));
  li.append(b);
  return li;
}
