// Offer alerts, each opt-in and remembered per browser (localStorage `parley.agent.alerts`): a chime, the tab's
// title flashing "New chat from …" while the desktop is in the background, and a browser notification (asks
// for the permission when switched on; clicking it brings the desktop forward). Only offers made while the
// desktop is open alert: a reload that replays the worker stream does not chime again.

const STORAGE_KEY = "parley.agent.alerts";
const FLASH_MS = 1200; // the title alternates this often
const FRESH_MS = 30000; // an offer older than this (replayed after a reload) does not alert

export const ALERT_KINDS = [
  { key: "sound", label: "Play a sound" },
  { key: "title", label: "Flash the tab title" },
  { key: "browser", label: "Show a browser notification" },
];

export class OfferAlerts {
  constructor() {
    this.settings = this.load();
    this.alerted = new Set(); // reservation sids already alerted
    this.pending = new Map(); // reservation sid -> customer name, offers still open
    this.baseTitle = document.title;
    this.flasher = null;
    this.audio = null;
    document.addEventListener("visibilitychange", () => this.refreshTitle());
  }

  load() {
    try {
      const stored = JSON.parse(localStorage.getItem(STORAGE_KEY) || "{}");
      return { sound: Boolean(stored.sound), title: Boolean(stored.title), browser: Boolean(stored.browser) };
    } catch {
      return { sound: false, title: false, browser: false };
    }
  }

  /** Switches one kind on or off (from a user's click: the chime and the permission prompt need one). */
  async set(key, on) {
    this.settings[key] = on;
    if (on && key === "sound") this.unlockAudio();
    if (on && key === "browser" && "Notification" in window && Notification.permission === "default") {
      await Notification.requestPermission();
    }
    try {
      localStorage.setItem(STORAGE_KEY, JSON.stringify(this.settings));
    } catch {
      /* storage disabled: the setting lasts for this page */
    }
    this.refreshTitle();
    return this.settings[key];
  }

  /** Whether the browser lets notifications show (false also when the user blocked them). */
  get notificationsBlocked() {
    return "Notification" in window && Notification.permission === "denied";
  }

  setTitle(title) {
    this.baseTitle = title;
    this.refreshTitle();
  }

  /** A new offer (reservation.created). `createdAt` in ms: a replayed old one does not alert. */
  offered(sid, customerName, createdAt) {
    this.pending.set(sid, customerName);
    if (this.alerted.has(sid) || Date.now() - createdAt > FRESH_MS) {
      this.refreshTitle();
      return;
    }
    this.alerted.add(sid);
    if (this.settings.sound) this.chime();
    if (this.settings.browser && document.hidden && "Notification" in window && Notification.permission === "granted") {
      const note = new Notification("New chat", { body: `From ${customerName}`, tag: sid });
      note.onclick = () => {
        window.focus();
        note.close();
      };
    }
    this.refreshTitle();
  }

  /** The offer was answered, timed out or withdrawn. */
  settled(sid) {
    this.pending.delete(sid);
    this.refreshTitle();
  }

  refreshTitle() {
    const names = [...this.pending.values()];
    const flash = this.settings.title && names.length && document.hidden;
    if (!flash) {
      clearInterval(this.flasher);
      this.flasher = null;
      if (document.title !== this.baseTitle) document.title = this.baseTitle;
      return;
    }
    const alert = names.length === 1 ? `New chat from ${names[0]}` : `${names.length} new chats`;
    if (this.flasher) {
      this.flashText = alert;
      return;
    }
    this.flashText = alert;
    let on = true;
    document.title = alert;
    this.flasher = setInterval(() => {
      on = !on;
      document.title = on ? this.flashText : this.baseTitle;
    }, FLASH_MS);
  }

  unlockAudio() {
    const Context = window.AudioContext || window.webkitAudioContext;
    if (!Context) return;
    if (!this.audio) this.audio = new Context();
    if (this.audio.state === "suspended") this.audio.resume().catch(() => {});
  }

  /** Two short tones, made on the spot (no sound file to fetch). */
  chime() {
    this.unlockAudio();
    const audio = this.audio;
    if (!audio) return;
    const start = audio.currentTime;
    for (const [offset, frequency] of [[0, 880], [0.18, 1320]]) {
      const tone = audio.createOscillator();
      const gain = audio.createGain();
      tone.frequency.value = frequency;
      gain.gain.setValueAtTime(0.0001, start + offset);
      gain.gain.exponentialRampToValueAtTime(0.2, start + offset + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, start + offset + 0.16);
      tone.connect(gain).connect(audio.destination);
      tone.start(start + offset);
      tone.stop(start + offset + 0.17);
    }
  }
}
