// Search of past conversations (docs/agent-desktop.md "Search"): every word must appear in the conversation
// (any message), case and accents aside. An agent finds the chats it took part in, a supervisor its
// workspace's. Each result shows the customer, when, and the messages with the most of the words.

const plain = (s) => s.normalize("NFKD").replace(/\p{M}/gu, "").toLowerCase();

/** `text` as nodes with the query's words in <mark> (matched case- and accent-blind, shown as written). */
export function highlighted(text, words) {
  const out = [];
  const folded = plain(text);
  // Positions of folded and original characters match when NFKD leaves one character per character (most
  // text); otherwise show the text without marks rather than marking the wrong letters.
  if (folded.length !== text.length || !words.length) return [document.createTextNode(text)];
  const pattern = new RegExp(words.map((w) => w.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join("|"), "g");
  let last = 0;
  for (const m of folded.matchAll(pattern)) {
    if (m.index > last) out.push(document.createTextNode(text.slice(last, m.index)));
    const mark = document.createElement("mark");
    mark.textContent = text.slice(m.index, m.index + m[0].length);
    out.push(mark);
    last = m.index + m[0].length;
  }
  if (last < text.length) out.push(document.createTextNode(text.slice(last)));
  return out;
}

export class HistorySearch {
  /** `form`, `input`, `results` (<ul>), `status` (a polite live region); `api`: the desktop's Api. */
  constructor({ form, input, results, status, api }) {
    Object.assign(this, { form, input, results, status, api });
    this.seq = 0;
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      this.run();
    });
    input.addEventListener("search", () => {
      if (!input.value.trim()) this.clear();
    });
  }

  clear() {
    this.results.replaceChildren();
    this.status.textContent = "";
  }

  async run() {
    const query = this.input.value.trim();
    if (!query) return this.clear();
    const words = [...new Set((plain(query).match(/[\p{L}\p{N}_]{2,}/gu) || []))];
    if (!words.length) {
      this.status.textContent = "Search for a word of two letters or more.";
      return;
    }
    const seq = ++this.seq;
    this.status.textContent = "Searching…";
    let found;
    try {
      found = await this.api.search(query);
    } catch (err) {
      if (seq === this.seq) this.status.textContent = `The search failed: ${err.message}`;
      return;
    }
    if (seq !== this.seq) return; // a newer search is on its way
    this.status.textContent = found.length
      ? `${found.length} conversation${found.length === 1 ? "" : "s"} found` : "No conversations found.";
    this.results.replaceChildren(...found.map((c) => {
      const li = document.createElement("li");
      li.className = "search__item";
      const head = document.createElement("p");
      head.className = "search__head";
      const who = document.createElement("strong");
      who.textContent = c.customer_name || c.friendly_name || c.conversation_sid;
      const when = document.createElement("span");
      when.textContent = ` · ${new Date(c.date_updated).toLocaleString([], { dateStyle: "medium", timeStyle: "short" })}`;
      head.append(who, when);
      li.append(head);
      for (const m of c.messages) {
        const line = document.createElement("p");
        line.className = "search__snippet";
        line.append(...highlighted(m.body || "", words));
        li.append(line);
      }
      return li;
    }));
  }
}
