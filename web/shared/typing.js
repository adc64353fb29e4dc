// Typing indicators (docs/realtime.md, `typing`). The signal is live only, so a writer repeats it every few
// seconds while typing, and a reader forgets it a few seconds after the last one, or as soon as a message of
// that person arrives. Used by the agent desktop and the web chat.

export const SEND_EVERY_MS = 3000;
export const SHOW_FOR_MS = 5000;

const listFormat = new Intl.ListFormat("en", { type: "conjunction" });

/** Calls `send(key)` (key: a conversation SID) at most once every SEND_EVERY_MS while the user types. */
export class TypingSender {
  constructor(send) {
    this.send = send;
    this.last = new Map(); // key -> when it was last sent
  }

  typed(key) {
    const now = Date.now();
    if (now - (this.last.get(key) ?? -Infinity) < SEND_EVERY_MS) return;
    this.last.set(key, now);
    this.send(key);
  }

  /** A message was sent: the next keystroke (a new message) says so again at once. */
  sent(key) {
    this.last.delete(key);
  }
}

/** The other people typing in one conversation; `onChange()` runs whenever the line changes. */
export class TypingPeople {
  /** `words` (optional) words it in another language: { one(name), many(names), lang }. */
  constructor(onChange = () => {}, words = null) {
    this.words = words;
    this.listFormat = words && words.lang ? new Intl.ListFormat(words.lang, { type: "conjunction" }) : listFormat;
    this.onChange = onChange;
    this.people = new Map(); // identity -> { name, timer }
  }

  typing(identity, name) {
    if (!identity) return;
    const known = this.people.get(identity);
    if (known) clearTimeout(known.timer);
    const timer = setTimeout(() => this.stopped(identity), SHOW_FOR_MS);
    this.people.set(identity, { name, timer });
    if (!known || known.name !== name) this.onChange();
  }

  /** That person's message arrived (or its signal ran out). */
  stopped(identity) {
    const known = this.people.get(identity);
    if (!known) return;
    clearTimeout(known.timer);
    this.people.delete(identity);
    this.onChange();
  }

  clear() {
    for (const { timer } of this.people.values()) clearTimeout(timer);
    const had = this.people.size > 0;
    this.people.clear();
    if (had) this.onChange();
  }

  /** "Carol is typing…", "Alice and Bob are typing…", or "" when nobody is. */
  get text() {
    const names = [...this.people.values()].map((p) => p.name);
    if (!names.length) return "";
    if (this.words) return names.length === 1 ? this.words.one(names[0]) : this.words.many(this.listFormat.format(names));
    return names.length === 1 ? `${names[0]} is typing…` : `${this.listFormat.format(names)} are typing…`;
  }
}
