// One conversation: the thread (oldest at the top, the newest at the bottom; scrolling up
// loads older pages with ?before=<seq>), the composer (text, reply, edit), a message's
// menu (react, reply, edit within 15 minutes, unsend, delete for me, report), the request
// bar (accept, delete, block and report), typing and read receipts, live over the socket.
import { ApiError, api, del, get, post, retrying } from "../lib/api.js";
import { openReport } from "../lib/report.js";
import { el } from "../feed/text.js";
import { EDIT_WINDOW_MS, conversationTitle, labelTimes, messageNode, others, personName, preview } from "./render.js";
import { clientId, urls } from "./urls.js";
import { bindAttach } from "./attach.js";

const PAGE = 30;
const TYPING_EVERY_MS = 3000;
const TYPING_SHOWN_MS = 6000;
const EMOJI = ["❤️", "😂", "😮", "😢", "👍", "🔥"];

const idOf = (m) => (m.id != null ? String(m.id) : `local-${m.client_id}`);
const words = (e, fallback) => (e instanceof ApiError ? e.message : fallback);

export class Thread {
  constructor(root, { me, conversationId, socket, onRead }) {
    this.root = root;
    this.me = String(me);
    this.id = String(conversationId);
    this.socket = socket;
    this.onRead = onRead || (() => {});
    this.scroller = root.querySelector("[data-thread-scroll]");
    this.list = root.querySelector("[data-thread-messages]");
    this.top = root.querySelector("[data-thread-top]");
    this.typingLine = root.querySelector("[data-typing]");
    this.jump = root.querySelector("[data-jump]");
    this.form = root.querySelector("[data-composer]");
    this.input = this.form.querySelector("textarea");
    this.composerStatus = root.querySelector("[data-composer-status]");
    this.contextBar = root.querySelector("[data-composing]");
    this.requestBar = root.querySelector("[data-request]");
    this.messages = new Map(); // id (or local-<client_id>) -> message
    this.hidden = new Set(); // deleted for me: a late change must not bring them back
    this.conversation = null;
    this.nextBefore = null;
    this.maxChangeSeq = 0;
    this.hasMore = true;
    this.loadingOlder = false;
    this.readSeqs = new Map(); // member id -> last read seq (only members who show receipts)
    this.readSent = 0;
    this.typingSentAt = 0;
    this.typers = new Map(); // member id -> timeout
    this.replyTo = null;
    this.editing = null;
    this.menuDialog = null;
  }

  get group() {
    return Boolean(this.conversation && this.conversation.kind === "group");
  }

  get ctx() {
    return { me: this.me, group: this.group, onMenu: (m, b) => this.openMenu(m, b),
             onReact: (m, emoji) => this.react(m, emoji), onRetry: (m) => this.retry(m),
             onDiscard: (m) => this.discard(m) };
  }

  async start() {
    this.bindComposer();
    bindAttach(this);
    this.bindRequest();
    this.jump.addEventListener("click", () => this.scrollToBottom(true));
    const options = this.root.querySelector("[data-conversation-menu]");
    options?.addEventListener("click", () => this.openConversationMenu(options));
    this.scroller.addEventListener("scroll", () => {
      if (this.atBottom()) { this.jump.hidden = true; this.markRead(); }
    }, { passive: true });
    document.addEventListener("visibilitychange", () => this.markRead());
    window.addEventListener("focus", () => this.markRead());
    try {
      const [conversation, page] = await Promise.all([get(urls.detail(this.id)), get(`${urls.messages(this.id)}?limit=${PAGE}`)]);
      this.setConversation(conversation);
      this.addPage(page);
    } catch (e) {
      this.list.replaceChildren(el("li", { class: "form-error dm-load-error", text: words(e, "This conversation could not load. Check your connection and reload.") }));
      return;
    }
    this.scrollToBottom(false);
    this.root.dataset.ready = "1";
    this.socket.subscribe(this.id, () => this.maxChangeSeq);
    new IntersectionObserver((entries) => {
      if (entries.some((e) => e.isIntersecting)) this.loadOlder();
    }, { root: this.scroller, rootMargin: "200px 0px 0px 0px" }).observe(this.top);
    this.markRead();
  }

  setConversation(conversation) {
    this.conversation = conversation;
    const title = conversationTitle(conversation, this.me);
    this.root.querySelector("[data-thread-title]").textContent = title;
    document.title = `${title} · Messages · SwipeMe`;
    const rest = others(conversation, this.me);
    const sub = this.root.querySelector("[data-thread-sub]");
    if (this.group) sub.textContent = `${(conversation.members || []).length} members`;
    else if (rest[0]) {
      sub.replaceChildren(el("a", { href: `/@${encodeURIComponent(rest[0].username)}`, dir: "ltr", text: `@${rest[0].username}` }));
    }
    // how far the others have read (those who show read receipts), as the page was made
    const reads = JSON.parse(document.getElementById("dm-reads")?.textContent || "{}");
    for (const [who, seq] of Object.entries(reads)) {
      if (!this.readSeqs.has(who) || this.readSeqs.get(who) < seq) this.readSeqs.set(who, Number(seq));
    }
  }

  // --- the list of messages ---------------------------------------------------------------

  addPage(page) {
    const rows = page.results || [];
    for (const m of rows) this.upsert(m, { quiet: true });
    this.nextBefore = page.next_before ?? null;
    this.hasMore = this.nextBefore != null;
    if (!this.hasMore) {
      this.top.replaceChildren(el("p", { class: "muted small dm-start", text: "The start of your conversation" }));
    }
    this.updateReceipts();
  }

  async loadOlder() {
    if (!this.hasMore || this.loadingOlder) return;
    this.loadingOlder = true;
    this.top.replaceChildren(el("p", { class: "muted small", role: "status", text: "Loading older messages…" }));
    const fromBottom = this.scroller.scrollHeight - this.scroller.scrollTop;
    try {
      const page = await get(`${urls.messages(this.id)}?limit=${PAGE}&before=${this.nextBefore}`);
      this.top.replaceChildren();
      this.addPage(page);
      this.scroller.scrollTop = this.scroller.scrollHeight - fromBottom; // keep what was on screen
      // still at the top (a short page): the observer will not fire again by itself
      if (this.hasMore && this.scroller.scrollTop < 200) setTimeout(() => this.loadOlder(), 0);
    } catch (e) {
      const retry = el("button", { type: "button", class: "link small", text: "Try again" });
      retry.addEventListener("click", () => this.loadOlder());
      this.top.replaceChildren(el("p", { class: "form-error small" }, words(e, "Older messages could not load. "), retry));
    } finally {
      this.loadingOlder = false;
    }
  }

  /** Put a message in its place (by seq; pending ones at the end), or replace its node. */
  upsert(message, { quiet = false } = {}) {
    const key = idOf(message);
    if (this.hidden.has(key)) return;
    const known = this.messages.get(key);
    if (known && known.change_seq != null && message.change_seq != null && Number(message.change_seq) < Number(known.change_seq)) return;
    if (message.change_seq != null) this.maxChangeSeq = Math.max(this.maxChangeSeq, Number(message.change_seq));
    const mine = message.sender && String(message.sender.id) === this.me;
    // the answer to one of this page's sends (by the socket or the POST): drop its placeholder
    if (mine && message.client_id && message.id != null) {
      const local = `local-${message.client_id}`;
      if (this.messages.has(local)) { this.messages.delete(local); this.nodeOf(local)?.remove(); }
    }
    const isNew = !known;
    this.messages.set(key, message);
    const wasAtBottom = this.atBottom();
    const node = messageNode(message, this.ctx);
    const old = this.nodeOf(key);
    if (old && old.dataset.seq === String(message.seq ?? "")) old.replaceWith(node);
    else { old?.remove(); this.insert(node, message.seq); }
    if (!quiet && isNew && message.seq != null) {
      if (!mine) this.stopTyping(String(message.sender && message.sender.id));
      if (mine || wasAtBottom) this.scrollToBottom(true);
      else if (!this.ending) this.jump.hidden = false;
      // on its way to the bottom (a smooth scroll): it is being seen
      this.markRead(mine || wasAtBottom);
    }
    this.updateReceipts();
  }

  nodeOf(key) {
    return this.list.querySelector(`[data-id="${CSS.escape(key)}"]`);
  }

  insert(node, seq) {
    if (seq == null) { this.list.append(node); return; }
    for (const child of this.list.children) {
      const s = child.dataset.seq;
      if (s === "" || Number(s) > Number(seq)) { this.list.insertBefore(node, child); return; }
    }
    this.list.append(node);
  }

  atBottom() {
    const s = this.scroller;
    return s.scrollHeight - s.scrollTop - s.clientHeight < 80;
  }

  scrollToBottom(smooth) {
    this.scroller.scrollTo({ top: this.scroller.scrollHeight, behavior: smooth ? "smooth" : "auto" });
    this.jump.hidden = true;
  }

  newestSeq() {
    let newest = 0;
    for (const m of this.messages.values()) if (m.seq != null) newest = Math.max(newest, Number(m.seq));
    return newest;
  }

  // --- read state and receipts --------------------------------------------------------------

  /** Tell the server how far this person has read: the newest message, once it is seen. */
  async markRead(seen = this.atBottom()) {
    if (document.visibilityState !== "visible" || !seen || this.isRequest()) return;
    const seq = this.newestSeq();
    if (!seq || seq <= this.readSent) return;
    this.readSent = seq;
    try {
      await post(urls.read(this.id), { seq });
      this.onRead(this.id);
    } catch { this.readSent = 0; /* said again at the next message */ }
  }

  /** "Seen" under my last message someone has read ("Seen by …" in a group), else "Sent";
   * and the times between runs of messages. */
  updateReceipts() {
    labelTimes(this.list);
    for (const node of this.list.querySelectorAll("[data-receipt]")) { node.textContent = ""; node.removeAttribute("data-receipt"); }
    let last = null;
    for (const m of this.messages.values()) {
      if (m.seq != null && m.sender && String(m.sender.id) === this.me && !(last && Number(last.seq) > Number(m.seq))) last = m;
    }
    if (!last || this.newestSeq() !== Number(last.seq)) return; // an answer came after it
    const status = this.nodeOf(idOf(last))?.querySelector("[data-status]");
    if (!status) return;
    const readers = [...this.readSeqs].filter(([, seq]) => seq >= Number(last.seq)).map(([id]) => id);
    let text = "Sent";
    if (readers.length && !this.group) text = "Seen";
    else if (readers.length) {
      const names = (this.conversation.members || []).filter((m) => readers.includes(String(m.id))).map(personName);
      text = `Seen by ${names.slice(0, 3).join(", ")}${names.length > 3 ? ` and ${names.length - 3} more` : ""}`;
    }
    status.textContent = text;
    status.setAttribute("data-receipt", readers.length ? "seen" : "sent");
  }

  // --- socket frames ---------------------------------------------------------------------

  onFrame(frame) {
    if (String(frame.conversation ?? (frame.message && frame.message.conversation)) !== this.id) return;
    if (frame.type === "message" && frame.message) this.upsert(frame.message);
    else if (frame.type === "typing") this.showTyping(frame.user || { id: frame.user_id });
    else if (frame.type === "read") {
      const who = String(typeof frame.user === "object" ? frame.user.id : frame.user);
      if (who !== this.me) { this.readSeqs.set(who, Number(frame.seq)); this.updateReceipts(); }
    } else if (frame.type === "unsubscribed" && this.root.querySelector("[data-thread-ended]").hidden) {
      this.ended(frame.message);
    }
  }

  /** Left, removed or blocked: nothing more comes, and nothing can be sent. */
  ended(text, { backTo = null } = {}) {
    this.form.hidden = true;
    this.jump.hidden = true;
    this.ending = true; // nothing new is announced as "New messages" any more
    this.typingLine.hidden = true;
    const note = this.root.querySelector("[data-thread-ended]");
    note.replaceChildren(text || "This conversation is no longer available.");
    if (backTo) {
      note.append(" ", el("a", { href: `/messages?folder=${encodeURIComponent(backTo)}`,
                                 text: backTo === "requests" ? "Back to requests" : "Back to messages" }));
    }
    note.hidden = false;
  }

  /** What a blocked person sent goes from the page (the server hides it from now on). */
  hideMessagesOf(senderIds) {
    for (const [key, m] of [...this.messages]) {
      if (m.sender && senderIds.has(String(m.sender.id))) { this.messages.delete(key); this.nodeOf(key)?.remove(); }
    }
    this.updateReceipts();
  }

  showTyping(user) {
    const who = String(user.id);
    if (who === this.me) return;
    clearTimeout(this.typers.get(who));
    this.typers.set(who, setTimeout(() => this.stopTyping(who), TYPING_SHOWN_MS));
    this.typingNames = this.typingNames || new Map();
    const member = (this.conversation.members || []).find((m) => String(m.id) === who) || user;
    this.typingNames.set(who, personName(member));
    this.renderTyping();
  }

  stopTyping(who) {
    clearTimeout(this.typers.get(who));
    this.typers.delete(who);
    this.typingNames?.delete(who);
    this.renderTyping();
  }

  renderTyping() {
    const names = [...(this.typingNames || new Map()).values()];
    const wasAtBottom = this.atBottom();
    this.typingLine.textContent = !names.length ? ""
      : names.length === 1 ? `${names[0]} is typing…` : `${names.slice(0, 2).join(" and ")} are typing…`;
    this.typingLine.hidden = !names.length;
    if (wasAtBottom) this.scrollToBottom(false);
  }

  // --- the composer ------------------------------------------------------------------------

  bindComposer() {
    this.form.addEventListener("submit", (event) => { event.preventDefault(); this.submit(); });
    this.input.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) { event.preventDefault(); this.submit(); }
      if (event.key === "Escape" && (this.replyTo || this.editing)) this.clearContext();
    });
    this.input.addEventListener("input", () => {
      this.grow();
      const now = Date.now();
      if (this.input.value.trim() && now - this.typingSentAt > TYPING_EVERY_MS && !this.editing) {
        this.typingSentAt = now;
        this.socket.typing(this.id);
      }
    });
    this.contextBar.querySelector("button").addEventListener("click", () => this.clearContext());
  }

  grow() {
    this.input.style.height = "auto";
    this.input.style.height = `${Math.min(this.input.scrollHeight, 140)}px`;
  }

  setContext(kind, message) {
    this.replyTo = kind === "reply" ? message : null;
    this.editing = kind === "edit" ? message : null;
    const label = kind === "reply" ? `Replying to ${personName(message.sender)}: ` : "Editing your message: ";
    this.contextBar.querySelector("[data-composing-text]").replaceChildren(
      el("strong", { text: label }), el("span", { dir: "auto", text: preview(message, null).slice(0, 80) }));
    this.contextBar.hidden = false;
    if (kind === "edit") { this.input.value = message.body || ""; this.grow(); }
    this.input.focus();
  }

  clearContext() {
    if (this.editing) { this.input.value = ""; this.grow(); }
    this.replyTo = null;
    this.editing = null;
    this.contextBar.hidden = true;
  }

  async submit() {
    const body = this.input.value.trim();
    if (!body) return;
    this.composerStatus.textContent = "";
    if (this.editing) { await this.saveEdit(this.editing, body); return; }
    const payload = { kind: "text", body };
    if (this.replyTo) payload.reply_to_id = String(this.replyTo.id);
    const local = {
      client_id: clientId(), kind: "text", body, state: "visible", seq: null,
      sender: { id: this.me, ...(this.root.dataset.meName ? { display_name: this.root.dataset.meName } : {}) },
      reply_to: this.replyTo ? { id: this.replyTo.id, body_preview: preview(this.replyTo, null).slice(0, 80) } : null,
      reactions: [], created_at: new Date().toISOString(), local: { status: "sending" },
    };
    this.input.value = "";
    this.grow();
    this.clearContext();
    this.typingSentAt = 0;
    this.messages.set(idOf(local), local);
    this.list.append(messageNode(local, this.ctx));
    this.scrollToBottom(true);
    await this.deliver(local, payload);
  }

  /** POST one message (again, with the same client id, after a failure: never twice). */
  async deliver(local, payload) {
    local.payload = payload;
    try {
      const message = await retrying(() => post(urls.messages(this.id), { ...payload, client_id: local.client_id }));
      this.upsert(message);
      if (this.isRequest()) this.refreshRequest();
    } catch (e) {
      if (!this.messages.has(idOf(local))) return;
      const transient = !(e instanceof ApiError) || e.status >= 500;
      local.local = { error: words(e, "no connection."), retry: transient };
      this.nodeOf(idOf(local))?.replaceWith(messageNode(local, this.ctx));
    }
  }

  retry(local) {
    local.local = { status: "sending" };
    this.nodeOf(idOf(local))?.replaceWith(messageNode(local, this.ctx));
    this.deliver(local, local.payload);
  }

  /** A message that was not sent, taken away (its text goes back to the composer if empty). */
  discard(local) {
    this.messages.delete(idOf(local));
    this.nodeOf(idOf(local))?.remove();
    if (!this.input.value.trim()) { this.input.value = local.body || ""; this.grow(); }
  }

  async saveEdit(message, body) {
    try {
      const changed = await api("PATCH", urls.message(this.id, message.id), { body });
      this.clearContext();
      this.upsert(changed);
    } catch (e) {
      this.composerStatus.textContent = words(e, "The message could not be edited. Try again.");
    }
  }

  // --- a message's menu --------------------------------------------------------------------

  buildMenu() {
    const dialog = el("dialog", { class: "drawer sheet dm-menu", "aria-labelledby": "dm-menu-title", "data-message-menu": true });
    const close = el("button", { type: "button", class: "icon-button close", "aria-label": "Close", text: "×" });
    dialog.append(
      el("header", { class: "drawer-head" }, el("h2", { id: "dm-menu-title", text: "Message" }), close),
      el("div", { class: "dm-emoji-row", role: "group", "aria-label": "React" }),
      el("div", { class: "sheet-actions" }),
      el("p", { class: "sheet-status", role: "status" }));
    close.addEventListener("click", () => dialog.close());
    dialog.addEventListener("click", (event) => { if (event.target === dialog) dialog.close(); });
    dialog.addEventListener("close", () => { if (this.menuOpener?.isConnected) this.menuOpener.focus({ preventScroll: true }); });
    document.body.append(dialog);
    return dialog;
  }

  openMenu(message, opener) {
    this.menuDialog = this.menuDialog || this.buildMenu();
    this.menuOpener = opener;
    const dialog = this.menuDialog;
    const mine = message.sender && String(message.sender.id) === this.me;
    const unsent = Boolean(message.unsent || message.state === "unsent" || message.state === "removed");
    const visible = message.state === "visible" && message.seq != null && !unsent;
    const mineReaction = (message.reactions || []).find((r) => r.mine);
    dialog.querySelector(".sheet-status").textContent = "";
    dialog.querySelector("#dm-menu-title").textContent = "Message";
    dialog.querySelector(".dm-emoji-row").replaceChildren(...(visible ? EMOJI : []).map((emoji) => {
      const chosen = mineReaction && mineReaction.emoji === emoji;
      const button = el("button", { type: "button", class: `dm-emoji${chosen ? " mine" : ""}`, "aria-pressed": chosen ? "true" : "false",
                                    "aria-label": `React ${emoji}`, text: emoji });
      button.addEventListener("click", () => { dialog.close(); this.react(message, chosen ? null : emoji); });
      return button;
    }));
    const item = (label, action, extra = {}) => {
      const button = el("button", { type: "button", class: "sheet-button", text: label, ...extra });
      button.addEventListener("click", action);
      return button;
    };
    const editable = mine && message.kind === "text" && visible && Date.now() - Date.parse(message.created_at) < EDIT_WINDOW_MS;
    dialog.querySelector(".sheet-actions").replaceChildren(...[
      visible ? item("Reply", () => { dialog.close(); this.setContext("reply", message); }) : null,
      visible && message.body && navigator.clipboard ? item("Copy text", async () => {
        try { await navigator.clipboard.writeText(message.body); dialog.querySelector(".sheet-status").textContent = "Copied."; } catch { /* not allowed here */ }
      }) : null,
      editable ? item("Edit", () => { dialog.close(); this.setContext("edit", message); }) : null,
      mine && !unsent && message.seq != null ? item("Unsend", () => this.unsend(message), { "data-danger": true }) : null,
      item("Delete for me", () => this.hide(message)),
      !mine && !unsent ? item("Report", () => { dialog.close(); this.report([message.id], opener); }) : null,
    ].filter(Boolean));
    if (!dialog.open) dialog.showModal();
  }

  /** The conversation's own options: mute, pin, archive (each person's own), report, block. */
  openConversationMenu(opener) {
    this.menuDialog = this.menuDialog || this.buildMenu();
    this.menuOpener = opener;
    const dialog = this.menuDialog;
    const c = this.conversation || {};
    const status = dialog.querySelector(".sheet-status");
    status.textContent = "";
    dialog.querySelector("#dm-menu-title").textContent = "Conversation";
    dialog.querySelector(".dm-emoji-row").replaceChildren();
    const muted = Boolean(c.muted_until && Date.parse(c.muted_until) > Date.now());
    const toggle = (label, flag, on, done) => {
      const button = el("button", { type: "button", class: "sheet-button", text: label });
      button.addEventListener("click", async () => {
        try {
          this.setConversation(await (on ? del(urls.own(this.id, flag)) : post(urls.own(this.id, flag), {})));
          status.textContent = done;
          this.onRead(this.id); // the list and the badge read again
        } catch (e) {
          status.textContent = words(e, "That did not work. Try again.");
        }
      });
      return button;
    };
    const other = this.group ? null : others(c, this.me)[0];
    const report = el("button", { type: "button", class: "sheet-button", text: "Report" });
    report.addEventListener("click", () => {
      dialog.close();
      const ids = [...this.messages.values()].filter((m) => m.id != null && m.sender && String(m.sender.id) !== this.me && !m.unsent).map((m) => m.id);
      this.report(ids.slice(-10), opener);
    });
    const block = other ? el("button", { type: "button", class: "sheet-button", "data-danger": true, text: `Block @${other.username}` }) : null;
    block?.addEventListener("click", async () => {
      if (!confirm(`Block @${other.username}? You won't be able to message each other.`)) return;
      try {
        await post(`/api/v1/users/${encodeURIComponent(other.username)}/block`);
        dialog.close();
        this.hideMessagesOf(new Set([String(other.id)]));
        this.ended(`You blocked @${other.username}. You can no longer message each other.`, { backTo: "inbox" });
      } catch (e) {
        status.textContent = words(e, "That did not work. Try again.");
      }
    });
    dialog.querySelector(".sheet-actions").replaceChildren(...[
      toggle(muted ? "Unmute" : "Mute notifications", "mute", muted, muted ? "Unmuted." : "Muted: no notifications from this conversation."),
      toggle(c.pinned ? "Unpin" : "Pin to the top", "pin", Boolean(c.pinned), c.pinned ? "Unpinned." : "Pinned to the top of your messages."),
      toggle(c.archived ? "Move back to the inbox" : "Archive", "archive", Boolean(c.archived), c.archived ? "Back in your inbox." : "Archived: find it under Archived."),
      report, block,
    ].filter(Boolean));
    if (!dialog.open) dialog.showModal();
  }

  async react(message, emoji) {
    try {
      const changed = emoji ? await api("PUT", urls.reaction(this.id, message.id), { emoji })
        : await del(urls.reaction(this.id, message.id));
      if (changed && changed.id != null) this.upsert(changed);
    } catch (e) {
      this.composerStatus.textContent = words(e, "The reaction could not be saved. Try again.");
    }
  }

  async unsend(message) {
    const status = this.menuDialog.querySelector(".sheet-status");
    if (!confirm("Unsend this message? It will be removed for everyone.")) return;
    try {
      const changed = await del(urls.message(this.id, message.id));
      this.menuDialog.close();
      this.upsert(changed && changed.id != null ? changed : { ...message, unsent: true, state: "unsent", body: "" });
    } catch (e) {
      status.textContent = words(e, "The message could not be unsent. Try again.");
    }
  }

  async hide(message) {
    const status = this.menuDialog.querySelector(".sheet-status");
    try {
      await post(urls.hide(this.id, message.id));
      this.menuDialog.close();
      const key = idOf(message);
      this.hidden.add(key);
      this.messages.delete(key);
      this.nodeOf(key)?.remove();
      this.updateReceipts();
    } catch (e) {
      status.textContent = words(e, "The message could not be deleted. Try again.");
    }
  }

  /** Report messages (none: the conversation) to moderation; `block` blocks their senders too. */
  report(messageIds, opener, { block = false, onReported = null } = {}) {
    const noun = block ? "conversation" : messageIds.length === 1 ? "message" : "conversation";
    openReport({ targetType: "message", targetId: messageIds.join(","), noun,
                 reportsUrl: urls.report(this.id), opener, onReported,
                 bodyFor: (policy) => ({ message_ids: messageIds.map(String), policy, block }) });
  }

  // --- message requests ----------------------------------------------------------------

  isRequest() {
    return Boolean(this.requestBar && !this.requestBar.hidden && this.requestBar.dataset.request === "incoming");
  }

  bindRequest() {
    if (!this.requestBar) return;
    const status = this.requestBar.querySelector("[data-request-status]");
    const act = (name, fn) => {
      const button = this.requestBar.querySelector(`[data-request-action="${name}"]`);
      button?.addEventListener("click", async () => {
        button.disabled = true;
        try { await fn(); } catch (e) {
          status.classList.add("form-error");
          status.textContent = words(e, "That did not work. Try again.");
        } finally { button.disabled = false; }
      });
    };
    act("accept", async () => {
      await post(urls.accept(this.id));
      this.requestBar.hidden = true;
      this.form.hidden = false;
      this.root.dataset.request = "";
      this.markRead();
      this.onRead(this.id);
      this.input.focus();
    });
    act("delete", async () => {
      if (!confirm("Delete this request? The conversation is removed from your requests.")) return;
      await post(urls.decline(this.id));
      location.assign("/messages?folder=requests");
    });
    // one report that also blocks (after a block their messages are hidden: nothing left
    // to report), then the request goes
    act("block", async () => {
      const ids = [...this.messages.values()].filter((m) => m.id != null && m.sender && String(m.sender.id) !== this.me && !m.unsent).map((m) => m.id);
      const opener = this.requestBar.querySelector('[data-request-action="block"]');
      this.report(ids.slice(-10), opener, {
        block: true,
        onReported: async () => {
          await post(urls.decline(this.id)).catch(() => {}); // the block may have ended it already
          this.requestBar.hidden = true;
          this.hideMessagesOf(new Set(ids.map((id) => String(this.messages.get(String(id))?.sender?.id))));
          this.ended("Blocked and reported. They can't message you any more.", { backTo: "requests" });
        },
      });
    });
  }

  /** The sender's side of an unanswered request: how many more they may send. */
  refreshRequest() {}
}
