// Read receipts (docs/realtime.md, `read` and `participant.updated`): each participant's read horizon, its
// `last_read_message_index`, known from the Participants list on (re)load and from `participant.updated`
// events after that; and the "Seen" marker it puts under the caller's last message the other side has read.
// Used by the agent desktop and the web chat.

const asIndex = (value) => (Number.isInteger(value) ? value : -1);

export class ReadHorizons {
  constructor() {
    this.index = new Map(); // participant sid -> last read message index (-1: nothing read yet)
    this.live = null; // while the Participants list is being fetched: sids an event has moved since
  }

  /** From a participant.updated event. */
  set(participantSid, lastRead) {
    if (!participantSid) return;
    this.index.set(participantSid, asIndex(lastRead));
    if (this.live) this.live.add(participantSid);
  }

  /** Call before asking for the Participants list. */
  fetching() {
    this.live = new Set();
  }

  /** The Participants list (REST resources); an event that came while it was on its way is newer, and wins. */
  fetched(participants) {
    for (const p of participants || []) {
      if (!this.live || !this.live.has(p.sid)) this.index.set(p.sid, asIndex(p.last_read_message_index));
    }
    this.live = null;
  }

  of(participantSid) {
    return this.index.get(participantSid) ?? -1;
  }

  /** The highest horizon among the participants `which(sid)` accepts, -1 if none has read anything. */
  highest(which) {
    let best = -1;
    for (const [sid, index] of this.index) if (which(sid)) best = Math.max(best, index);
    return best;
  }
}

/** The marker: one per transcript, moved from message to message. */
export function seenMarker(text = "Seen") {
  const el = document.createElement("span");
  el.className = "msg__seen";
  el.textContent = text;
  return el;
}

/**
 * Puts `marker` under the last of `own` (the caller's delivered messages, `{ index, el }`) with an index at or
 * below `horizon`, or takes it away when the other side has read none of them.
 */
export function placeSeen(marker, own, horizon) {
  let target = null;
  for (const m of own) {
    if (Number.isInteger(m.index) && m.index <= horizon && (!target || m.index > target.index)) target = m;
  }
  if (!target) marker.remove();
  else if (marker.parentElement !== target.el || marker !== target.el.lastElementChild) target.el.append(marker);
}
