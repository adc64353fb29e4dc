// The supervisor's "Canned responses" dialog (docs/agent-desktop.md "Canned responses"): the workspace's saved
// replies, each with its shortcut, to add, change and remove; agents use them from "/" in the reply box.
import { ApiError } from "./api.js";

export class CannedAdminDialog {
  /** `api`: the desktop's Api; `el`: the <dialog>; `onChanged()`: after a change (the picker reloads). */
  constructor({ api, el, onChanged = () => {} }) {
    Object.assign(this, { api, el, onChanged });
    const q = (sel) => el.querySelector(sel);
    this.list = q("#canned-admin-list");
    this.form = q("#canned-admin-form");
    this.formTitle = q("#canned-admin-form-title");
    this.title = q("#canned-admin-title");
    this.shortcut = q("#canned-admin-shortcut");
    this.body = q("#canned-admin-body");
    this.error = q("#canned-admin-error");
    this.save = q("#canned-admin-save");
    this.editing = null; // the canned response being changed (null: a new one)
    this.opener = null;
    this.form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      this.submit();
    });
    q("#canned-admin-new").addEventListener("click", () => this.edit(null));
    q("#canned-admin-close").addEventListener("click", () => el.close());
    el.addEventListener("close", () => this.opener && this.opener.focus());
  }

  async open(opener) {
    this.opener = opener;
    this.edit(null);
    this.el.showModal();
    await this.refresh();
    this.title.focus();
  }

  async refresh() {
    let items = [];
    try {
      items = await this.api.cannedResponses();
    } catch (err) {
      this.error.textContent = `Could not load the canned responses: ${err.message}`;
    }
    if (!items.length) {
      const li = document.createElement("li");
      li.className = "empty";
      li.textContent = "No canned responses yet: add the first below.";
      this.list.replaceChildren(li);
      return;
    }
    this.list.replaceChildren(...items.map((c) => {
      const li = document.createElement("li");
      li.className = "canned-admin__item";
      const text = document.createElement("div");
      const title = document.createElement("strong");
      title.textContent = c.title + (c.shortcut ? `  /${c.shortcut}` : "");
      const body = document.createElement("p");
      body.textContent = c.body;
      text.append(title, body);
      const edit = document.createElement("button");
      edit.type = "button";
      edit.className = "button button--small button--secondary";
      edit.textContent = "Edit";
      edit.setAttribute("aria-label", `Edit ${c.title}`);
      edit.addEventListener("click", () => this.edit(c));
      const remove = document.createElement("button");
      remove.type = "button";
      remove.className = "button button--small button--secondary";
      remove.textContent = "Delete";
      remove.setAttribute("aria-label", `Delete ${c.title}`);
      remove.addEventListener("click", () => this.remove(c));
      li.append(text, edit, remove);
      return li;
    }));
  }

  edit(canned) {
    this.editing = canned;
    this.formTitle.textContent = canned ? `Edit “${canned.title}”` : "New canned response";
    this.title.value = canned ? canned.title : "";
    this.shortcut.value = canned && canned.shortcut ? canned.shortcut : "";
    this.body.value = canned ? canned.body : "";
    this.save.textContent = canned ? "Save changes" : "Add";
    this.error.textContent = "";
    if (canned) this.title.focus();
  }

  async submit() {
    const form = { Title: this.title.value.trim(), Shortcut: this.shortcut.value.trim(), Body: this.body.value.trim() };
    if (!form.Title || !form.Body) {
      this.error.textContent = !form.Title ? "Give it a title." : "Write the reply.";
      (!form.Title ? this.title : this.body).focus();
      return;
    }
    this.save.disabled = true;
    try {
      if (this.editing) await this.api.updateCanned(this.editing.sid, form);
      else await this.api.createCanned(form);
      this.edit(null);
      this.onChanged();
      await this.refresh();
      this.title.focus();
    } catch (err) {
      this.error.textContent = err instanceof ApiError && err.status === 409
        ? "Another canned response already has that shortcut." : `Not saved: ${err.message}`;
    } finally {
      this.save.disabled = false;
    }
  }

  async remove(canned) {
    try {
      await this.api.deleteCanned(canned.sid);
      if (this.editing && this.editing.sid === canned.sid) this.edit(null);
      this.onChanged();
      await this.refresh();
      this.title.focus();
    } catch (err) {
      this.error.textContent = `Not deleted: ${err.message}`;
    }
  }
}
