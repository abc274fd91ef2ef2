// Messages and conversations as DOM, from the API's JSON (never innerHTML with user text).
// A message is one <li> keyed by its id; a message this page is still sending is keyed by
// its client id until the server answers.
import { el, richText, profileUrl, timeAgo } from "../feed/text.js";

export const EDIT_WINDOW_MS = 15 * 60 * 1000;

export function avatar(person, size = 40) {
  const name = person ? (person.display_name || person.username || "?") : "?";
  const url = person && (person.avatar_url || (person.avatar && (person.avatar["100"] || person.avatar["48"])));
  return el("span", { class: "avatar", style: `--size: ${size}px`, "aria-hidden": "true" },
    url ? el("img", { src: url, alt: "", width: String(size), height: String(size), loading: "lazy", decoding: "async" })
      : name.charAt(0).toUpperCase());
}

export const personName = (p) => (p ? (p.display_name || p.username || "Someone") : "Someone");

/** The other members of a conversation (everyone but me). */
export function others(conversation, me) {
  return (conversation.members || []).filter((m) => String(m.id) !== String(me));
}

/** What a conversation is called: a group's name, else the other person's (or people's). */
export function conversationTitle(conversation, me) {
  if (conversation.title) return conversation.title;
  if (conversation.name) return conversation.name;
  const rest = others(conversation, me);
  if (!rest.length) return "Just you";
  return rest.slice(0, 3).map(personName).join(", ") + (rest.length > 3 ? ` and ${rest.length - 3} more` : "");
}

/** A one-line preview of a message for the list and the reply bar. */
export function preview(message, me) {
  if (!message) return "";
  // a list row's latest message names its sender by id only
  const senderId = message.sender && typeof message.sender === "object" ? message.sender.id : message.sender;
  const mine = senderId != null && String(senderId) === String(me);
  const who = mine ? "You: " : "";
  if (message.kind === "system") return systemText(message, me);
  if (message.unsent || message.state === "unsent") return mine ? "You unsent a message" : "Message unsent";
  if (message.removed || message.state === "removed") return "Message removed";
  if (message.kind === "post") return `${who}Shared a video`;
  if (message.kind === "profile") return `${who}Shared a profile`;
  if (message.kind === "media") return `${who}Sent a photo or video`;
  return `${who}${message.body_preview || message.body || ""}`;
}

function postCard(card) {
  if (!card || card.unavailable) {
    return el("div", { class: "dm-card dm-card-unavailable", "data-card": "unavailable" },
      el("strong", { text: "Video unavailable" }),
      el("span", { class: "muted small", text: "This video was removed or you can't see it." }));
  }
  const author = card.author || {};
  const href = card.url || `/@${encodeURIComponent(author.username || "")}/video/${encodeURIComponent(card.id)}`;
  const cover = card.poster_url;
  return el("a", { class: "dm-card dm-card-post", href, "data-card": "post" },
    el("span", { class: "dm-card-cover" }, cover ? el("img", { src: cover, alt: "", width: "90", height: "160", loading: "lazy" }) : null),
    el("span", { class: "dm-card-text" },
      el("span", { class: "dm-card-caption", dir: "auto", text: card.caption || "A video" }),
      el("span", { class: "muted small", dir: "ltr", text: author.username ? `@${author.username}` : "" })));
}

function profileCard(card) {
  if (!card || card.unavailable) {
    return el("div", { class: "dm-card dm-card-unavailable", "data-card": "unavailable" },
      el("strong", { text: "Account unavailable" }));
  }
  return el("a", { class: "dm-card dm-card-profile", href: profileUrl(card.username), "data-card": "profile" },
    avatar(card, 44),
    el("span", { class: "dm-card-text" },
      el("strong", { dir: "auto", text: personName(card) }),
      el("span", { class: "muted small", dir: "ltr", text: `@${card.username}` })));
}

function mediaNode(message, mine) {
  if (message.state === "pending") {
    return el("div", { class: "dm-media-pending", "data-media-state": "pending" },
      el("span", { class: "spinner", "aria-hidden": "true" }),
      el("span", { text: mine ? "Checking…" : "Sending…" }));
  }
  if (message.state === "rejected") {
    return el("div", { class: "dm-media-rejected", "data-media-state": "rejected" },
      el("strong", { text: "Not sent" }),
      el("span", { class: "small", text: message.refusal || "This photo or video didn't pass our checks." }));
  }
  const playback = message.media && message.media.playback;
  if (!playback || !playback.mp4) {
    return el("div", { class: "dm-media-pending", "data-media-state": "processing" }, el("span", { text: "Video processing…" }));
  }
  return el("video", { class: "dm-media", src: playback.mp4, poster: playback.poster || null,
                       controls: true, playsinline: true, preload: "metadata" });
}

function bubbleBody(message, mine) {
  if (message.unsent || message.state === "unsent") {
    return [el("span", { class: "dm-tombstone", text: mine ? "You unsent a message" : "Message unsent" })];
  }
  if (message.removed || message.state === "removed") {
    // taken down by a moderator, for everyone (the server's words)
    return [el("span", { class: "dm-tombstone", "data-removed": "", text: message.notice || "This message was removed for breaking our Community Guidelines." })];
  }
  const parts = [];
  if (message.kind === "post") parts.push(postCard(message.shared_post));
  else if (message.kind === "profile") parts.push(profileCard(message.shared_profile));
  else if (message.kind === "media") parts.push(mediaNode(message, mine));
  if (message.body) parts.push(el("span", { class: "dm-text", dir: "auto" }, ...richText(message.body)));
  return parts;
}

function reactionsRow(message, onReact) {
  const list = (message.reactions || []).filter((r) => r.count > 0);
  if (!list.length || message.unsent || message.removed) return null;
  return el("div", { class: "dm-reactions", "data-reactions": true }, ...list.map((r) => {
    const chip = el("button", {
      type: "button", class: `dm-reaction${r.mine ? " mine" : ""}`, "aria-pressed": r.mine ? "true" : "false",
      "aria-label": `${r.emoji} ${r.count}${r.mine ? ", yours: remove" : ""}`,
    }, el("span", { "aria-hidden": "true", text: r.emoji }), el("span", { class: "dm-reaction-count", text: String(r.count) }));
    chip.addEventListener("click", () => onReact(message, r.mine ? null : r.emoji));
    return chip;
  }));
}

function systemText(message, me) {
  if (message.body) return message.body;
  const data = message.system || {};
  const sender = message.sender && typeof message.sender === "object" ? message.sender : null;
  const mine = String(data.actor ?? (sender && sender.id)) === String(me);
  const actor = mine ? "You" : (sender ? personName(sender) : "Someone");
  const words = { added: "added people", removed: "removed someone", left: "left", renamed: "renamed the group" };
  return `${actor} ${words[data.event] || "changed the conversation"}`;
}

/**
 * One message. ctx: {me, group, onMenu(message, button), onReact(message, emoji|null),
 * onRetry(message)}. `message.local` marks one this page is sending: {status, error}.
 */
export function messageNode(message, ctx) {
  const key = message.id != null ? String(message.id) : `local-${message.client_id}`;
  if (message.kind === "system") {
    return el("li", { class: "dm-msg dm-system", id: `m-${key}`, "data-id": key, "data-seq": message.seq ?? "",
                      "data-at": message.created_at || "" },
      el("span", { text: systemText(message, ctx.me) }));
  }
  const mine = message.sender && String(message.sender.id) === String(ctx.me);
  // a removed message is a tombstone like an unsent one (no quote, reactions or edit mark)
  const unsent = Boolean(message.unsent || message.state === "unsent" || message.state === "removed");
  const bubble = el("div", { class: "dm-bubble" });
  if (message.reply_to && !unsent) {
    const quote = el("a", { class: "dm-quote", href: `#m-${message.reply_to.id}` },
      el("span", { class: "visually-hidden", text: "Reply to: " }),
      el("span", { dir: "auto", text: message.reply_to.body_preview || "a message" }));
    bubble.append(quote);
  }
  if (ctx.group && !mine) bubble.append(el("span", { class: "dm-sender small", dir: "auto", text: personName(message.sender) }));
  bubble.append(...bubbleBody(message, mine));
  if (message.edited_at && !unsent) bubble.append(el("span", { class: "dm-edited small", text: "Edited" }));
  const row = el("div", { class: "dm-row" });
  if (!mine) row.append(avatar(message.sender, 28));
  row.append(bubble);
  const canMenu = message.id != null && !unsent;
  if (canMenu || (unsent && message.id != null)) {
    const menu = el("button", { type: "button", class: "dm-menu-button", "aria-haspopup": "dialog",
                                "aria-label": `Message options${message.body ? `: ${message.body.slice(0, 40)}` : ""}`, text: "⋯" });
    menu.addEventListener("click", () => ctx.onMenu(message, menu));
    row.append(menu);
  }
  const node = el("li", {
    class: `dm-msg ${mine ? "mine" : "theirs"}${unsent ? " dm-unsent" : ""}`,
    id: `m-${key}`, "data-id": key, "data-seq": message.seq ?? "", "data-client-id": message.client_id || "",
    "data-state": message.state || "visible", "data-at": message.created_at || "",
  }, el("time", { class: "dm-time small muted", datetime: message.created_at || "", hidden: true }), row);
  const reactions = reactionsRow(message, ctx.onReact);
  if (reactions) node.append(reactions);
  const status = el("p", { class: "dm-status small", "data-status": true });
  if (message.local && message.local.error) {
    status.classList.add("form-error");
    status.append(el("span", { text: `Not sent: ${message.local.error} ` }));
    if (message.local.retry) {
      const retry = el("button", { type: "button", class: "link small", text: "Try again" });
      retry.addEventListener("click", () => ctx.onRetry(message));
      status.append(retry, " ");
    }
    const discard = el("button", { type: "button", class: "link small", text: "Remove" });
    discard.addEventListener("click", () => ctx.onDiscard(message));
    status.append(discard);
  } else if (message.local) {
    status.textContent = "Sending…";
  }
  node.append(status);
  node.title = message.created_at ? new Date(message.created_at).toLocaleString() : "";
  return node;
}

// icons as SVG paths (an emoji needs a colour emoji font, which not every device has)
const PIN = "M16 3v2h-1v6l3 3v2h-5v5l-1 1-1-1v-5H6v-2l3-3V5H8V3z";
const BELL_OFF = "M12 22a2.5 2.5 0 0 0 2.45-2h-4.9A2.5 2.5 0 0 0 12 22zM19 16v-5a7 7 0 0 0-5.5-6.84V3.5a1.5 1.5 0 0 0-3 0v.66a6.9 6.9 0 0 0-2.4 1.08L19 16.2zM3.3 2.3 2 3.6l4.2 4.2A7 7 0 0 0 5 11v5l-2 2v1h14.2l3.2 3.2 1.3-1.3z";

function flag(label, attr, path) {
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("width", "14");
  svg.setAttribute("height", "14");
  svg.setAttribute("aria-hidden", "true");
  const shape = document.createElementNS("http://www.w3.org/2000/svg", "path");
  shape.setAttribute("fill", "currentColor");
  shape.setAttribute("d", path);
  svg.append(shape);
  return el("span", { class: "dm-flag", title: label, [attr]: true }, svg);
}

/** One row of the conversation list. */
export function conversationRow(conversation, me, { current } = {}) {
  const title = conversationTitle(conversation, me);
  const rest = others(conversation, me);
  const unread = Number(conversation.unread_count) || 0;
  const muted = Boolean(conversation.muted || (conversation.muted_until && Date.parse(conversation.muted_until) > Date.now()));
  const pinned = Boolean(conversation.pinned || conversation.pinned_at);
  const last = conversation.last_message;
  const when = conversation.last_activity_at || (last && last.created_at);
  const words = [title, unread ? `${unread} unread` : "", muted ? "muted" : "", pinned ? "pinned" : ""].filter(Boolean).join(", ");
  const link = el("a", { class: "dm-item-link", href: `/messages/${encodeURIComponent(conversation.id)}`, "aria-label": words },
    avatar(rest[0] || conversation, 48),
    el("span", { class: "dm-item-text" },
      el("span", { class: "dm-item-title", dir: "auto" },
        el("span", { class: "dm-item-name", text: title }),
        pinned ? flag("Pinned", "data-pinned", PIN) : null,
        muted ? flag("Muted", "data-muted", BELL_OFF) : null),
      el("span", { class: "dm-item-preview", dir: "auto", text: preview(last, me) || "No messages yet" })),
    el("span", { class: "dm-item-side" },
      when ? el("time", { class: "small muted", datetime: when, text: timeAgo(when) }) : null,
      unread ? el("span", { class: `dm-unread${muted ? " muted" : ""}`, "data-unread": String(unread), "aria-hidden": "true",
                           text: unread > 99 ? "99+" : String(unread) }) : null));
  if (current) link.setAttribute("aria-current", "page");
  return el("li", { class: `dm-item${unread ? " unread" : ""}${muted ? " muted" : ""}${pinned ? " pinned" : ""}`,
                    "data-conversation-id": String(conversation.id) }, link);
}

const GAP_MS = 30 * 60 * 1000;

/** "18:05", "Yesterday 18:05", or "Mon 3 Dec, 18:05": when a run of messages began. */
export function whenLabel(date, now = new Date()) {
  const time = date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  const day = (d) => new Date(d.getFullYear(), d.getMonth(), d.getDate()).getTime();
  const days = Math.round((day(now) - day(date)) / 86400000);
  if (days === 0) return time;
  if (days === 1) return `Yesterday ${time}`;
  const opts = { weekday: "short", day: "numeric", month: "short" };
  if (date.getFullYear() !== now.getFullYear()) opts.year = "numeric";
  return `${date.toLocaleDateString([], opts)}, ${time}`;
}

/** Show the time above the first message and above each one after a pause of 30 minutes. */
export function labelTimes(list) {
  let previous = null;
  for (const node of list.children) {
    const at = Date.parse(node.dataset.at || "");
    const label = node.querySelector(":scope > .dm-time");
    if (!label || Number.isNaN(at)) continue;
    const show = previous === null || at - previous > GAP_MS;
    label.hidden = !show;
    if (show) label.textContent = whenLabel(new Date(at));
    previous = at;
  }
}
