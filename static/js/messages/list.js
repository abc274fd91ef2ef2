// The conversation list (Inbox or Requests): the API's order (pinned first, then the latest
// activity), unread badges (a muted conversation's is grey), refreshed when the server says
// this person's inbox changed.
import { ApiError, get } from "../lib/api.js";
import { el } from "../feed/text.js";
import { conversationRow } from "./render.js";
import { urls } from "./urls.js";

export class ConversationList {
  constructor(root, { me, folder, current }) {
    this.root = root;
    this.list = root.querySelector("[data-dm-list]");
    this.empty = root.querySelector("[data-dm-empty]");
    this.status = root.querySelector("[data-dm-list-status]");
    this.me = me;
    this.folder = folder;
    this.current = current;
    this.timer = null;
    this.loading = null;
  }

  /** The first page again (a change moved rows); older pages follow as the end scrolls in. */
  async load() {
    this.list.setAttribute("aria-busy", "true");
    try {
      const page = await get(urls.list(this.folder));
      const rows = page.results || [];
      this.list.replaceChildren(...rows.map((c) => conversationRow(c, this.me, { current: String(c.id) === this.current })));
      this.empty.hidden = rows.length > 0;
      this.status.textContent = "";
      this.next = page.next || null;
      this.watchEnd();
    } catch (e) {
      this.status.textContent = e instanceof ApiError ? e.message : "Your messages could not load. Check your connection.";
    } finally {
      this.list.setAttribute("aria-busy", "false");
      this.root.dataset.loaded = "1";
    }
  }

  watchEnd() {
    this.observer = this.observer || new IntersectionObserver((entries) => {
      if (entries.some((e) => e.isIntersecting)) this.more();
    }, { root: this.list, rootMargin: "0px 0px 200px 0px" });
    this.observer.disconnect();
    const last = this.list.lastElementChild;
    if (this.next && last) this.observer.observe(last);
  }

  async more() {
    if (!this.next || this.loadingMore) return;
    this.loadingMore = true;
    try {
      const page = await get(`${urls.list(this.folder)}&cursor=${encodeURIComponent(this.next)}`);
      const known = new Set([...this.list.children].map((li) => li.dataset.conversationId));
      this.list.append(...(page.results || []).filter((c) => !known.has(String(c.id)))
        .map((c) => conversationRow(c, this.me, { current: String(c.id) === this.current })));
      this.next = page.next || null;
      this.watchEnd();
    } catch { /* the next scroll tries again */ } finally {
      this.loadingMore = false;
    }
  }

  /** Many changes in a moment (a busy group) reload the list once. */
  refreshSoon() {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.load(), 250);
  }

  /** The thread this page shows was read: its badge goes at once. */
  markRead(conversationId) {
    const row = this.list.querySelector(`[data-conversation-id="${CSS.escape(String(conversationId))}"]`);
    if (!row) return;
    row.classList.remove("unread");
    row.querySelector("[data-unread]")?.remove();
  }

  static emptyNote(folder) {
    return el("p", { class: "empty", text: folder === "requests" ? "No message requests." : "No messages yet." });
  }
}
