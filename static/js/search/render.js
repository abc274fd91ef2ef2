// Search results as DOM, the same markup the server renders (templates/web/partials/
// search_result.html): every result is a real link, user text is text (never innerHTML)
// and carries dir="auto" so a right-to-left name or caption reads the right way.
import { compact, el } from "../feed/text.js";

const SVG = "http://www.w3.org/2000/svg";
const ICONS = {
  sound: "M12 3v10.6A4 4 0 1 0 14 17V7h5V3z",
  play: "M8 5v14l11-7z",
  search: "M10 3a7 7 0 0 1 5.6 11.2l5.1 5.1-1.4 1.4-5.1-5.1A7 7 0 1 1 10 3zm0 2a5 5 0 1 0 0 10 5 5 0 0 0 0-10z",
  trending: "M3 17.6 9.4 11l4 4L20 8.4V13h2V5h-8v2h4.6l-5.2 5.2-4-4L1.6 16.2z",
};

export function icon(name, size = 18) {
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("width", size);
  svg.setAttribute("height", size);
  svg.setAttribute("aria-hidden", "true");
  const path = document.createElementNS(SVG, "path");
  path.setAttribute("fill", "currentColor");
  path.setAttribute("d", ICONS[name]);
  svg.append(path);
  return svg;
}

const plural = (n, word) => `${compact(n)} ${word}${Number(n) === 1 ? "" : "s"}`;

function avatar(url, name, size) {
  const box = el("span", { class: "avatar", "aria-hidden": "true", style: `--size: ${size}px` });
  if (url) {
    box.append(el("img", { src: url, alt: "", width: size, height: size, loading: "lazy",
                           decoding: "async" }));
  } else {
    box.textContent = (Array.from(name || "?")[0] || "?").toUpperCase();
  }
  return box;
}

function verified(isVerified) {
  return isVerified ? el("span", { class: "verified", title: "Verified", text: " ✓" },
    el("span", { class: "visually-hidden", text: " verified" })) : null;
}

/** What a result is in the search_click event: its type and id (a hashtag's id is its name). */
export function resultKey(item) {
  return { type: item.type, id: item.type === "hashtag" ? item.name : String(item.id) };
}

function link(item, position, extraClass) {
  const key = resultKey(item);
  return el("a", {
    class: `result result-${item.type}${extraClass ? ` ${extraClass}` : ""}`, href: item.url,
    "data-result-type": key.type, "data-result-id": key.id, "data-position": position,
  });
}

function text(title, sub) {
  return el("span", { class: "result-text" }, title, sub);
}

/** One result as a row: accounts, sounds and hashtags, and every kind in the as-you-type list. */
export function resultRow(item, position) {
  const a = link(item, position);
  if (item.type === "account") {
    const name = item.display_name || item.username;
    const sub = el("span", { class: "result-sub" },
      el("span", { dir: "ltr", text: `@${item.username}` }),
      ` · ${plural(item.follower_count, "follower")}`,
      item.you_follow ? el("span", { class: "result-following", text: " · Following" }) : null);
    a.append(avatar(item.avatar_url, name, 44),
      text(el("span", { class: "result-title" }, el("span", { dir: "auto", text: name }),
        verified(item.is_verified)), sub));
  } else if (item.type === "sound") {
    const sub = el("span", { class: "result-sub" },
      item.artist ? el("span", { dir: "auto", text: item.artist }) : null,
      `${item.artist ? " · " : ""}${plural(item.use_count, "video")}`);
    a.append(el("span", { class: "result-icon" }, icon("sound", 22)),
      text(el("span", { class: "result-title", dir: "auto", text: item.title }), sub));
  } else if (item.type === "live") {
    const host = item.host || {};
    const thumb = el("span", { class: "result-thumb result-live-thumb" });
    if (item.cover_url) thumb.append(el("img", { src: item.cover_url, alt: "", loading: "lazy", decoding: "async" }));
    else thumb.append(avatar(host.avatar_url, host.display_name || host.username, 44));
    thumb.append(el("span", { class: "live-badge", "aria-hidden": "true", text: "LIVE" }));
    a.append(thumb, text(el("span", { class: "result-title", dir: "auto", text: item.title }),
      el("span", { class: "result-sub" }, el("span", { class: "visually-hidden", text: "Live now: " }),
        `${compact(item.viewer_count)} watching · `,
        el("span", { dir: "auto", text: host.display_name || host.username }), " · ",
        el("span", { dir: "ltr", text: `@${host.username}` }))));
  } else if (item.type === "hashtag") {
    a.append(el("span", { class: "result-icon", "aria-hidden": "true", text: "#" }),
      text(el("span", { class: "result-title", dir: "auto", text: `#${item.name}` }),
        el("span", { class: "result-sub", text: plural(item.post_count, "video") })));
  } else {
    const author = item.author || {};
    const cover = el("span", { class: "result-thumb", "aria-hidden": "true" });
    if (item.cover_url) cover.append(el("img", { src: item.cover_url, alt: "", loading: "lazy", decoding: "async" }));
    a.append(cover, text(
      el("span", { class: "result-title", dir: "auto", text: item.caption || `Video by @${author.username}` }),
      el("span", { class: "result-sub" }, el("span", { dir: "ltr", text: `@${author.username}` }),
        ` · ${plural(item.view_count, "view")}`)));
  }
  return a;
}

/** A video in the full results: its 9:16 cover (reserved, no layout shift), caption, author. */
export function videoCard(item, position) {
  const author = item.author || {};
  const a = link(item, position, "result-card");
  const cover = el("span", { class: "result-cover" });
  if (item.cover_url) cover.append(el("img", { src: item.cover_url, alt: "", loading: "lazy", decoding: "async", width: 360, height: 640 }));
  cover.append(el("span", { class: "tile-views" }, icon("play", 14), compact(item.view_count),
    el("span", { class: "visually-hidden", text: " views" })));
  a.append(cover,
    el("span", { class: "result-caption", dir: "auto", text: item.caption || `Video by @${author.username}` }),
    el("span", { class: "result-author" }, avatar(author.avatar_url, author.display_name || author.username, 20),
      el("span", { dir: "ltr", text: `@${author.username}` }), verified(author.is_verified)));
  return a;
}

/** Append results to `container` from `start` on: runs of videos become a grid of cards, the
 * rest a list of rows (the server renders the first page the same way). */
export function appendResults(container, results, start) {
  results.forEach((item, i) => {
    const grid = item.type === "video";
    let group = container.lastElementChild;
    if (!group || group.dataset.group !== (grid ? "grid" : "list")) {
      group = el("ul", { class: grid ? "result-grid" : "result-list", role: "list",
                         "data-group": grid ? "grid" : "list" });
      container.append(group);
    }
    group.append(el("li", {}, grid ? videoCard(item, start + i) : resultRow(item, start + i)));
  });
}

/** The safety notice shown instead of results for a blocked term. */
export function noticeNode(notice) {
  const box = el("div", { class: "search-notice", role: "note", "aria-labelledby": "search-notice-title" },
    el("h2", { id: "search-notice-title", text: notice.title || "You're not alone" }),
    el("p", { text: notice.message || "" }));
  const links = (notice.links || []).filter((l) => l && /^(https?:\/\/|\/)/.test(l.url || ""));
  if (links.length) {
    box.append(el("ul", { class: "search-notice-links" },
      ...links.map((l) => el("li", {}, el("a", { class: "button secondary", href: l.url, text: l.label })))));
  }
  return box;
}

export function searchUrl(q, tab) {
  const params = new URLSearchParams({ q });
  if (tab && tab !== "top") params.set("tab", tab);
  return `/search?${params}`;
}
