// Share to a direct message, in the feed's share sheet (issue 15): the person's recent
// conversations, or anyone they search for (who a mention would reach); one tap sends
// the video as a card (POST /api/v1/conversations/{id}/messages, kind "post", with a
// client id so a retry never sends it twice). A refusal (message requests, blocks, the
// minors' rules) is said in the server's words.
import { ApiError, get, post, retrying } from "../lib/api.js";
import { avatar, conversationTitle, others } from "../messages/render.js";
import { clientId, urls } from "../messages/urls.js";
import { el } from "./text.js";

const RECENT = 8;

export class ShareToDm {
  constructor(section, { me }) {
    this.section = section;
    this.me = me;
    this.recent = section.querySelector("[data-share-dm-recent]");
    this.search = section.querySelector("[data-share-dm-search]");
    this.results = section.querySelector("[data-share-dm-results]");
    this.status = section.querySelector("[data-share-dm-status]");
    this.post = null;
    this.onShared = () => {};
    this.timer = null;
    this.search.addEventListener("input", () => {
      clearTimeout(this.timer);
      this.timer = setTimeout(() => this.find(this.search.value.trim()), 200);
    });
  }

  /** Open for one post; onShared() counts the share on the rail. */
  async open(post, onShared) {
    this.post = post;
    this.onShared = onShared || (() => {});
    this.search.value = "";
    this.results.replaceChildren();
    this.say("");
    this.section.hidden = false;
    try {
      const page = await get(urls.list("inbox"));
      const rows = (page.results || []).slice(0, RECENT);
      this.recent.replaceChildren(...rows.map((c) => this.target(conversationTitle(c, this.me), others(c, this.me)[0] || c,
        () => this.sendTo(c.id, conversationTitle(c, this.me)))));
      this.recent.hidden = !rows.length;
    } catch {
      this.recent.hidden = true; // searching for a person still works
    }
  }

  target(name, person, action) {
    const button = el("button", { type: "button", class: "share-dm-target", "aria-label": `Send to ${name}` },
      avatar(person, 44), el("span", { class: "share-dm-name", dir: "auto", text: name }));
    button.addEventListener("click", async () => {
      button.disabled = true;
      try { await action(); } finally { button.disabled = false; }
    });
    return el("li", {}, button);
  }

  async find(q) {
    if (!q) { this.results.replaceChildren(); return; }
    try {
      const page = await get(`/web/suggest/users?q=${encodeURIComponent(q)}`);
      const people = (page.results || []).filter((u) => u.username !== this.me);
      this.results.replaceChildren(...people.map((u) => this.target(u.display_name || u.username,
        { ...u, avatar_url: u.avatar }, () => this.sendToPerson(u))));
      if (!people.length) this.results.append(el("li", { class: "muted small", text: "Nobody found." }));
    } catch { /* keep the last results */ }
  }

  say(text, isError = false) {
    this.status.textContent = text;
    this.status.classList.toggle("form-error", isError);
  }

  async sendToPerson(user) {
    try {
      const conversation = await post(urls.create(), { kind: "direct", user_id: String(user.id) });
      await this.sendTo(conversation.id, user.display_name || `@${user.username}`);
    } catch (e) {
      this.say(e instanceof ApiError ? e.message : "Could not send. Check your connection.", true);
    }
  }

  async sendTo(conversationId, name) {
    const body = { client_id: clientId(), kind: "post", shared_post_id: String(this.post.id) };
    this.say(`Sending to ${name}…`);
    try {
      await retrying(() => post(urls.messages(conversationId), body));
    } catch (e) {
      this.say(e instanceof ApiError ? e.message : "Could not send. Check your connection.", true);
      return;
    }
    this.status.replaceChildren(`Sent to ${name}. `,
      el("a", { href: urls.page(conversationId), text: "Open chat" }));
    this.status.classList.remove("form-error");
    this.onShared();
  }
}
