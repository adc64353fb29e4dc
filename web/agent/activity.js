// The availability toggle in the header: the workspace's activities, the worker's current one, and changes.

export class ActivityControl {
  /** @param {object} opts api (Api), workerSid, select (<select>), dot (status dot), onError(text), onChange(available) */
  constructor({ api, workerSid, select, dot, onError, onChange }) {
    Object.assign(this, { api, workerSid, select, dot, onError, onChange });
    this.available = new Map(); // WA… -> whether it makes the worker available
    this.current = null;
    this.isAvailable = false;
    select.addEventListener("change", () => this.change());
  }

  async load() {
    try {
      const [activities, worker] = await Promise.all([this.api.activities(), this.api.worker(this.workerSid)]);
      this.available = new Map(activities.map((a) => [a.sid, a.available]));
      this.select.replaceChildren(...activities.map((a) => new Option(a.friendly_name, a.sid)));
      this.select.disabled = false;
      this.show(worker.activity_sid, worker.available);
    } catch (err) {
      this.select.replaceChildren(new Option("Unavailable", ""));
      this.onError(`Could not load your status: ${err.message}`);
    }
  }

  /** Reflects the worker's activity (from a REST answer or a worker.activity.update event). */
  show(activitySid, available) {
    if (!activitySid) return;
    this.current = activitySid;
    if (this.select.querySelector(`option[value="${activitySid}"]`)) this.select.value = activitySid;
    this.isAvailable = Boolean(available ?? this.available.get(activitySid));
    this.dot.dataset.available = String(this.isAvailable);
    if (this.onChange) this.onChange(this.isAvailable);
  }

  async change() {
    const chosen = this.select.value;
    this.select.disabled = true;
    try {
      const worker = await this.api.setActivity(this.workerSid, chosen);
      this.show(worker.activity_sid, worker.available);
    } catch (err) {
      if (this.current) this.select.value = this.current;
      this.onError(`Could not change your status: ${err.message}`);
    } finally {
      this.select.disabled = false;
    }
  }
}
