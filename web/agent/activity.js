// The availability toggle in the header: the workspace's activities, the worker's current one, and changes.

export class ActivityControl {
  /** @param {object} opts api (Api), workerSid, select (<select>), dot (status dot), onError(text), onChange(available) */
  constructor({ api, workerSid, select, dot, onError, onChange }) {
    Object.assign(this, { api, workerSid, select, dot, onError, onChange });
    this.activities = []; // the workspace's activities: { sid, friendly_name, available }
    this.available = new Map(); // WA… -> whether it makes the worker available
    this.current = null;
    this.isAvailable = false;
    select.addEventListener("change", () => this.change());
  }

  async load() {
    try {
      const [activities, worker] = await Promise.all([this.api.activities(), this.api.worker(this.workerSid)]);
      this.remember(activities);
      this.select.replaceChildren(...activities.map((a) => new Option(a.friendly_name, a.sid)));
      this.select.disabled = false;
      this.show(worker.activity_sid, worker.available);
    } catch (err) {
      this.select.replaceChildren(new Option("Unavailable", ""));
      this.onError(`Could not load your status: ${err.message}`);
    }
  }

  remember(activities) {
    this.activities = activities;
    this.available = new Map(activities.map((a) => [a.sid, a.available]));
  }

  /** The activity's name, if the workspace's activities are known. */
  nameOf(activitySid) {
    const a = this.activities.find((x) => x.sid === activitySid);
    return a ? a.friendly_name : null;
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

  /**
   * Moves the worker to the workspace's offline activity (the one named "Offline", else the first
   * unavailable one), rejecting pending offers so they go to someone else now. Resolves with its name;
   * rejects (ApiError or Error) when the status could not be changed. Accepted tasks stay with the worker.
   */
  async goOffline() {
    const offline = await this.pick((a) => a.friendly_name === "Offline", (a) => !a.available);
    if (!offline) throw new Error("this workspace has no offline activity");
    const worker = await this.api.setActivity(this.workerSid, offline.sid, { rejectPending: true });
    this.show(worker.activity_sid, worker.available);
    return offline.friendly_name;
  }

  /** Makes the worker available (the activity named "Available", else the first available one). */
  async goAvailable() {
    const available = await this.pick((a) => a.friendly_name === "Available", (a) => a.available);
    if (!available) throw new Error("this workspace has no available activity");
    const worker = await this.api.setActivity(this.workerSid, available.sid);
    this.show(worker.activity_sid, worker.available);
    return available.friendly_name;
  }


  async pick(...preferences) {
    if (!this.activities.length) this.remember(await this.api.activities());
    for (const matches of preferences) {
      const found = this.activities.find(matches);
      if (found) return found;
    }
    return null;
  }
}
