// The Messages link's unread badge (header and phone), server-rendered on every page and
// kept current on the inbox pages from the socket's inbox frames.
import { get } from "../lib/api.js";
import { el } from "../feed/text.js";
import { urls } from "./urls.js";

export function showUnread(total) {
  for (const link of document.querySelectorAll("[data-messages-link]")) {
    let badge = link.querySelector("[data-messages-unread]");
    if (total > 0) {
      if (!badge) {
        badge = el("span", { class: "count-badge", "data-messages-unread": true, "aria-hidden": "true" });
        link.append(badge);
      }
      badge.textContent = total > 99 ? "99+" : String(total);
    } else {
      badge?.remove();
    }
    link.setAttribute("aria-label", total > 0 ? `Messages, ${total} unread` : "Messages");
  }
}

/** The Requests tab's count (the inbox pages). */
export function showRequests(count) {
  const tab = document.querySelector('[data-folder-tab="requests"]');
  if (!tab) return;
  let pill = tab.querySelector("[data-requests-count]");
  if (count > 0) {
    if (!pill) {
      pill = el("span", { class: "pill", "data-requests-count": true });
      tab.append(" ", pill);
    }
    pill.textContent = String(count);
  } else {
    pill?.remove();
  }
}

export async function refreshUnread() {
  try {
    const body = await get(urls.unread());
    showUnread(Number(body.unread) || 0);
    showRequests(Number(body.requests) || 0);
  } catch { /* the server-rendered badge stays */ }
}
