// The chat panel: messages (newest at the bottom, at most MAX_LINES kept), joins summarised
// by the server ("maya and 12 others joined"), gifts, the pinned message, deletions; the
// composer sends through the API (every refusal said in the server's words: slow mode,
// followers only, links, muted, a filtered message); the host and moderators get actions
// on each message (pin, delete, mute for the staff's two lengths, 5 / 30 min by default,
// block); every signed-in viewer can report someone else's message from the same menu
// (the shared report dialog, on the live's report endpoint with the message's id).
import { api, ApiError, del, newIdempotencyKey, post } from "../lib/api.js";
import { openReport } from "../lib/report.js";
import { el } from "../feed/text.js";
import { urls } from "./urls.js";

const MAX_LINES = 150;

export class Chat {
  constructor(page) {
    this.page = page;
    this.id = page.dataset.liveId;
    this.me = page.dataset.me;
    this.moderates = page.dataset.isHost === "1" || page.dataset.isModerator === "1";
    this.list = page.querySelector("[data-chat-list]");
    this.status = page.querySelector("[data-chat-status]");
    this.form = page.querySelector("[data-chat-form]");
    this.pinned = page.querySelector("[data-pinned]");
    this.seen = new Set();
    this.pending = new Map();  // client_id -> text, until the socket's ack or error
    this.muteMinutes = [5, 30];  // the staff's lengths, from the room's `ready` (limits)
    this.room = null;
  }

  bind(room) {
    this.room = room;
    if (this.form) {
      this.form.addEventListener("submit", (event) => { event.preventDefault(); this.send(); });
    }
    const unpin = this.pinned.querySelector("[data-unpin]");
    if (unpin) unpin.addEventListener("click", () => this.act(() => del(urls.pin(this.id)), "Unpinned."));
  }

  say(text, isError = false) {
    this.status.textContent = text;
    this.status.classList.toggle("form-error", isError);
  }

  /** The socket's first frame: the recent chat, the pinned message, the settings and the
   *  viewer's own standing (may they chat, and if not why, in words). */
  ready(frame) {
    (frame.messages || []).forEach((message) => this.addMessage(message));
    this.setPinned(frame.pinned || null);
    if (frame.settings) this.page.dispatchEvent(new CustomEvent("live:settings", { detail: frame.settings }));
    const you = frame.you || {};
    if (this.form && you.can_chat === false && you.refusal) this.say(you.refusal, true);
    this.applyLimits(frame.limits);
  }

  /** The chat's limits as the staff set them (LivePolicy): the composer's length, the mute
   *  lengths in the message menu, the slow-mode steps in the host's sheet. */
  applyLimits(limits) {
    if (!limits) return;
    const input = this.form && this.form.querySelector("[data-chat-input]");
    if (input && limits.max_chars) input.maxLength = limits.max_chars;
    if (Array.isArray(limits.mute_minutes) && limits.mute_minutes.length) {
      this.muteMinutes = limits.mute_minutes;
    }
    const slow = this.page.querySelector("[data-slow-mode]");
    if (slow && Array.isArray(limits.slow_mode_choices)) {
      const allowed = new Set(limits.slow_mode_choices.map(String));
      for (const option of [...slow.options]) {
        if (!allowed.has(option.value) && option.value !== slow.value) option.remove();
      }
    }
  }

  send() {
    const input = this.form.querySelector("[data-chat-input]");
    const text = input.value.trim();
    if (!text) return;
    if (!this.room || !this.room.isOpen) {
      this.say("Reconnecting to the chat… try again in a moment.", true);
      return;
    }
    const clientId = newIdempotencyKey();
    this.pending.set(clientId, text);
    this.room.send({ type: "send", text, client_id: clientId });
    input.value = "";
    input.focus({ preventScroll: true });
  }

  /** The answer to one of this page's sends: shown at once (the room's copy is skipped by
   *  id); a hidden message stays with its author, who reads why. */
  ack(frame) {
    this.pending.delete(frame.client_id);
    this.say("");
    if (frame.message) this.addMessage({ ...frame.message, hidden: frame.hidden });
    if (frame.hidden) this.say(frame.notice || "Your message was hidden: it goes against the community guidelines.", true);
  }

  refused(frame) {
    const text = frame.client_id ? this.pending.get(frame.client_id) : null;
    if (text != null) {
      this.pending.delete(frame.client_id);
      const input = this.form && this.form.querySelector("[data-chat-input]");
      if (input && !input.value) input.value = text;  // give the words back to fix and resend
    }
    this.say(frame.message || "That didn't go through.", true);
  }

  /** Frames the page does not handle itself. */
  frame(frame) {
    switch (frame.type) {
      case "message": this.addMessage(frame.message); break;
      case "ack": this.ack(frame); break;
      case "error": this.refused(frame); break;
      case "deleted": this.remove(frame.message); break;
      case "pinned": this.setPinned(frame.message || null); break;
      case "user_removed": this.removeUser(frame.user); break;
      case "muted": case "unmuted": case "banned":
        this.say(frame.message || "", frame.type !== "unmuted"); break;
      // the connection was too slow for the room: some messages never reached this page
      case "missed": this.say(frame.message || "", false); break;
      case "settings": this.page.dispatchEvent(new CustomEvent("live:settings", { detail: frame.settings || {} })); break;
      default: break;
    }
  }

  /** "maya and 12 others joined" (the room's summary, every few seconds). */
  joined({ names = [], others = 0 }) {
    if (!names.length) return;
    const who = names.slice(0, 2).join(", ");
    const more = others + Math.max(0, names.length - 2);
    this.line(more ? `${who} and ${more} other${more === 1 ? "" : "s"} joined` : `${who} joined`, "live-chat-join");
  }

  scrolledToEnd() {
    return this.list.scrollHeight - this.list.scrollTop - this.list.clientHeight < 40;
  }

  append(node) {
    const stick = this.scrolledToEnd();
    this.list.append(node);
    while (this.list.children.length > MAX_LINES) this.list.firstElementChild.remove();
    if (stick) this.list.scrollTop = this.list.scrollHeight;
  }

  line(text, className) {
    if (text) this.append(el("li", { class: `live-chat-line ${className}`, text }));
  }

  author(message) {
    const author = message.author || {};
    return typeof author === "string" ? author : (author.username || "");
  }

  addMessage(message) {
    if (!message || !message.id || this.seen.has(String(message.id))) return;
    this.seen.add(String(message.id));
    const name = this.author(message);
    const role = (message.author && message.author.role) || "";
    const item = el("li", { class: "live-chat-line", "data-message-id": message.id, "data-author": name,
      "data-author-id": message.author && message.author.id },
      role ? el("span", { class: `live-chat-role ${role}`, text: role === "host" ? "Host" : "Mod" }) : null,
      el("a", { class: "live-chat-author", href: `/@${encodeURIComponent(name)}`, text: name }),
      " ", el("span", { class: "live-chat-text", dir: "auto", text: message.text }));
    if (message.hidden) item.classList.add("live-chat-hidden");
    const mine = name === this.me;
    if (this.me && !mine && (this.moderates || !message.hidden)) {
      const menu = el("button", { type: "button", class: "live-chat-more", "aria-label": `Actions for ${name}'s message`, "aria-haspopup": "menu" }, "⋯");
      menu.addEventListener("click", () => this.openActions(message, item, menu));
      item.append(menu);
    } else if (this.moderates) {
      const pin = el("button", { type: "button", class: "live-chat-more", "aria-label": "Pin your message" }, "📌");
      pin.addEventListener("click", () => this.act(() => api("PUT", urls.pin(this.id), { message_id: message.id }), "Pinned."));
      item.append(pin);
    }
    this.append(item);
  }

  gift(frame) {
    const gift = frame.gift || {};
    const from = (frame.from && frame.from.username) || "Someone";
    this.line(`${from} sent ${gift.emoji || "🎁"} ${gift.name || "a gift"}`, "live-chat-gift");
  }

  removeUser(userId) {
    this.list.querySelectorAll(`[data-author-id="${CSS.escape(String(userId))}"]`).forEach((item) => item.remove());
  }

  remove(id) {
    const item = this.list.querySelector(`[data-message-id="${CSS.escape(String(id))}"]`);
    if (item) item.remove();
    if (this.pinned.dataset.messageId === String(id)) this.setPinned(null);
  }

  setPinned(message) {
    if (!message) {
      this.pinned.hidden = true;
      delete this.pinned.dataset.messageId;
      return;
    }
    this.pinned.dataset.messageId = message.id;
    this.pinned.querySelector("[data-pinned-author]").textContent = this.author(message);
    this.pinned.querySelector("[data-pinned-text]").textContent = message.text;
    this.pinned.hidden = false;
  }

  async act(send, done) {
    try {
      await send();
      this.say(done);
    } catch (error) {
      this.say(error instanceof ApiError ? error.message : "That didn't work. Try again.", true);
    }
  }

  openActions(message, item, opener) {
    const old = this.page.querySelector(".live-chat-menu");
    if (old) old.remove();
    const name = this.author(message);
    const userId = message.author && message.author.id;
    const moderation = !this.moderates ? [] : [
      ["Pin", () => api("PUT", urls.pin(this.id), { message_id: message.id }), "Pinned."],
      ["Delete", () => del(urls.message(this.id, message.id)), "Deleted."],
      ...this.muteMinutes.map((minutes) => [`Mute ${minutes} min`,
        () => post(urls.mute(this.id), { user_id: userId, minutes }),
        `@${name} is muted for ${minutes} minutes.`]),
      ["Block from your lives", () => post(urls.ban(this.id), { user_id: userId }), `@${name} can't watch or chat in your lives now.`],
    ];
    const choices = moderation.map(([label, send, done]) => [label, async () => {
      await this.act(send, done);
      opener.focus({ preventScroll: true });
    }]);
    // a message the filters hid is nobody's to report (the API's 404): only shown ones
    if (!message.hidden) choices.push(["Report", () => this.report(message, opener)]);
    const menu = el("div", { class: "live-chat-menu", role: "menu", "aria-label": `${name}'s message` });
    for (const [label, run] of choices) {
      const button = el("button", { type: "button", role: "menuitem", text: label });
      button.addEventListener("click", () => {
        menu.remove();
        run();
      });
      menu.append(button);
    }
    const close = (event) => {
      if (event.type === "keydown" && event.key !== "Escape") return;
      if (event.type === "click" && menu.contains(event.target)) return;
      menu.remove();
      document.removeEventListener("click", close, true);
      document.removeEventListener("keydown", close, true);
    };
    item.append(menu);
    placeMenu(menu, opener);
    menu.querySelector("button").focus();
    setTimeout(() => {
      document.addEventListener("click", close, true);
      document.addEventListener("keydown", close, true);
    });
  }

  /** Report one chat message: the shared reason sheet, sent to the live's report endpoint
   *  with the message's id; the dialog tells the reporter in words it was received. */
  report(message, opener) {
    return openReport({
      targetType: "live_message", targetId: message.id, noun: "message", opener,
      reportsUrl: urls.report(this.id),
      bodyFor: (policy) => ({ policy, message_id: String(message.id) }),
    });
  }

  ended() {
    if (!this.form) return;
    this.form.querySelectorAll("input, button").forEach((node) => { node.disabled = true; });
    this.form.querySelector("[data-chat-input]").placeholder = "The live has ended";
  }
}

/** The menu is placed against the viewport, not inside the chat list: the list scrolls
 *  (overflow), so a menu opened on its last lines was cut off below the first item. It opens
 *  below its button when it fits there, else above, and stays on screen. */
function placeMenu(menu, opener) {
  const button = opener.getBoundingClientRect();
  const box = menu.getBoundingClientRect();
  const room = window.innerHeight;
  const below = button.bottom + box.height <= room - 8;
  const top = below ? button.bottom : Math.max(8, button.top - box.height);
  const left = Math.max(8, Math.min(button.right - box.width, window.innerWidth - box.width - 8));
  menu.style.position = "fixed";
  menu.style.top = `${top}px`;
  menu.style.left = `${left}px`;
  menu.style.right = "auto";
}
