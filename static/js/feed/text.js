// Captions and comments as DOM: hashtags and mentions become links, the rest stays text
// (never innerHTML with user text).

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value == null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children) if (child != null) node.append(child);
  return node;
}

export const profileUrl = (username) => `/@${encodeURIComponent(username)}`;
export const hashtagUrl = (name) => `/tag/${encodeURIComponent(name)}`;
export const soundUrl = (id) => `/sound/${encodeURIComponent(id)}`;

/** A caption with the post's entities (code-point offsets) turned into links. */
export function captionNodes(caption, entities) {
  const chars = Array.from(caption || "");
  const sorted = (entities || []).filter((e) => e && e.end > e.start)
    .sort((a, b) => a.start - b.start);
  const out = [];
  let at = 0;
  for (const e of sorted) {
    if (e.start < at) continue;
    out.push(chars.slice(at, e.start).join(""));
    const text = chars.slice(e.start, e.end).join("");
    if (e.type === "hashtag") out.push(el("a", { href: hashtagUrl(e.name || text.slice(1)), class: "tag", text }));
    else if (e.type === "mention") out.push(el("a", { href: profileUrl(e.username || text.slice(1)), class: "mention", text }));
    else out.push(text);
    at = e.end;
  }
  out.push(chars.slice(at).join(""));
  return out;
}

/** Comment text: @mentions and #hashtags linked by pattern (comments carry no entities). */
export function richText(text) {
  const out = [];
  const pattern = /([@#])([\p{L}\p{N}_.]{1,30})/gu;
  let at = 0;
  for (const match of (text || "").matchAll(pattern)) {
    out.push(text.slice(at, match.index));
    const [whole, sigil, name] = match;
    out.push(el("a", { href: sigil === "@" ? profileUrl(name) : hashtagUrl(name.toLowerCase()),
                       class: sigil === "@" ? "mention" : "tag", text: whole }));
    at = match.index + whole.length;
  }
  out.push((text || "").slice(at));
  return out;
}

export function compact(n) {
  n = Number(n) || 0;
  if (n < 1000) return String(n);
  if (n < 1_000_000) return `${(n / 1000).toFixed(n < 10_000 ? 1 : 0).replace(/\.0$/, "")}K`;
  return `${(n / 1_000_000).toFixed(1).replace(/\.0$/, "")}M`;
}

export function timeAgo(iso) {
  const s = Math.max(0, (Date.now() - Date.parse(iso)) / 1000);
  if (s < 60) return "now";
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86400) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86400)}d`;
}
