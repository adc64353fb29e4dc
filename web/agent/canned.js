// Canned responses in the reply box (docs/agent-desktop.md "Canned responses"): typing "/" at the start of
// the reply (or the button beside it) opens the workspace's saved replies, filtered as the agent types
// ("/ref" finds the "refund" shortcut and titles with "ref"); ↑/↓ choose, Enter or Tab puts the reply in the
// box with {{customer.name}} and {{agent.name}} filled in, Escape closes.

export function fillPlaceholders(body, values) {
  return body.replace(/\{\{\s*(customer|agent)\.name\s*\}\}/g, (_, who) => values[who] || "");
}

export class CannedPicker {
  /** `textarea`: the reply box; `list`: the <ul role="listbox">; `load()`: resolves the responses;
   *  `names()`: { customer, agent } for the placeholders; `onInsert()`: after a reply is put in the box. */
  constructor({ textarea, list, button, load, names, onInsert = () => {} }) {
    Object.assign(this, { textarea, list, button, load, names, onInsert });
    this.items = null; // the workspace's canned responses, loaded once when first needed
    this.matches = [];
    this.active = 0;
    this.open = false;
    this.viaButton = false;
    list.setAttribute("role", "listbox");
    list.hidden = true;
    textarea.setAttribute("aria-controls", list.id);
    textarea.setAttribute("aria-autocomplete", "list");
    textarea.addEventListener("input", () => this.update());
    textarea.addEventListener("keydown", (ev) => this.key(ev), true);
    textarea.addEventListener("blur", () => setTimeout(() => {
      if (document.activeElement !== textarea) this.close();
    }, 150));
    if (button) button.addEventListener("click", () => this.toggleFromButton());
  }

  /** The text after a leading "/" (null when the reply does not start with one). */
  query() {
    const value = this.textarea.value;
    if (this.viaButton) return value.trim().toLowerCase();
    const m = /^\/(\S*)$/.exec(value);
    return m ? m[1].toLowerCase() : null;
  }

  async ensureLoaded() {
    if (this.items) return;
    try {
      this.items = await this.load();
    } catch {
      this.items = [];
    }
  }

  async update() {
    const q = this.query();
    if (q === null) return this.close();
    await this.ensureLoaded();
    if (this.query() === null) return this.close();
    const query = this.query();
    this.matches = this.items.filter((c) => !query || (c.shortcut || "").startsWith(query)
      || c.title.toLowerCase().includes(query));
    this.active = Math.min(this.active, Math.max(0, this.matches.length - 1));
    this.render();
  }

  render() {
    this.open = true;
    this.list.hidden = false;
    this.textarea.setAttribute("aria-expanded", "true");
    if (!this.matches.length) {
      const empty = document.createElement("li");
      empty.className = "canned__empty";
      empty.textContent = this.items.length ? "No canned response matches." : "This workspace has no canned responses yet.";
      this.list.replaceChildren(empty);
      this.textarea.removeAttribute("aria-activedescendant");
      return;
    }
    this.list.replaceChildren(...this.matches.map((c, i) => {
      const li = document.createElement("li");
      li.id = `canned-${c.sid}`;
      li.className = "canned__item";
      li.setAttribute("role", "option");
      li.setAttribute("aria-selected", String(i === this.active));
      const title = document.createElement("span");
      title.className = "canned__title";
      title.textContent = c.title + (c.shortcut ? `  /${c.shortcut}` : "");
      const body = document.createElement("span");
      body.className = "canned__body";
      body.textContent = c.body;
      li.append(title, body);
      li.addEventListener("mousedown", (ev) => {
        ev.preventDefault(); // keep the focus in the reply box
        this.insert(c);
      });
      return li;
    }));
    this.textarea.setAttribute("aria-activedescendant", `canned-${this.matches[this.active].sid}`);
    this.list.children[this.active].scrollIntoView({ block: "nearest" });
  }

  key(ev) {
    if (!this.open) return;
    if (ev.key === "ArrowDown" || ev.key === "ArrowUp") {
      ev.preventDefault();
      if (!this.matches.length) return;
      const step = ev.key === "ArrowDown" ? 1 : -1;
      this.active = (this.active + step + this.matches.length) % this.matches.length;
      this.render();
    } else if ((ev.key === "Enter" && !ev.shiftKey) || ev.key === "Tab") {
      if (!this.matches.length) return;
      ev.preventDefault();
      ev.stopImmediatePropagation(); // not a send
      this.insert(this.matches[this.active]);
    } else if (ev.key === "Escape") {
      ev.preventDefault();
      ev.stopPropagation();
      this.close();
    }
  }

  async toggleFromButton() {
    if (this.open) return this.close();
    this.viaButton = true;
    this.textarea.focus();
    await this.update();
  }

  insert(canned) {
    this.textarea.value = fillPlaceholders(canned.body, this.names());
    this.close();
    this.textarea.focus();
    this.textarea.setSelectionRange(this.textarea.value.length, this.textarea.value.length);
    this.onInsert();
  }

  close() {
    this.open = false;
    this.viaButton = false;
    this.list.hidden = true;
    this.textarea.setAttribute("aria-expanded", "false");
    this.textarea.removeAttribute("aria-activedescendant");
  }

  /** Another workspace's or a newly added response: load again next time. */
  forget() {
    this.items = null;
  }
}
