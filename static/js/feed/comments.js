// The comments drawer: top-level comments (pinned first, as the API orders them), replies
// on demand, likes, and a form that comments or replies (with the @mention prefilled).
import { ApiError, get, post, del } from "../lib/api.js";
import { compact, el, profileUrl, richText, timeAgo } from "./text.js";
import { promptSignup } from "./sheets.js";

const drawer = document.getElementById("comments-drawer");
const list = drawer.querySelector(".comment-list");
const more = drawer.querySelector(".more-comments");
const form = drawer.querySelector(".comment-form");
const input = form.querySelector("input");
const replying = form.querySelector(".replying");
const error = form.querySelector(".form-error");
const countEl = drawer.querySelector(".comments-count");

let rail = null;
let nextUrl = null;
let replyTo = null; // { parentId, username, repliesEl }

drawer.querySelector(".close").addEventListener("click", () => drawer.close());
drawer.addEventListener("click", (event) => { if (event.target === drawer) drawer.close(); });
drawer.addEventListener("close", () => {
  if (rail) rail.buttons.comment.focus({ preventScroll: true });
  rail = null;
});
more.addEventListener("click", () => loadPage());
form.querySelector(".cancel-reply").addEventListener("click", () => setReply(null));

function setReply(target) {
  replyTo = target;
  replying.hidden = !target;
  if (target) {
    replying.querySelector("span").textContent = `Replying to @${target.username}`;
    if (!input.value.startsWith(`@${target.username}`)) input.value = `@${target.username} ${input.value}`;
  } else if (/^@\S+ /.test(input.value)) {
    input.value = input.value.replace(/^@\S+ /, "");
  }
  input.focus();
}

function commentNode(c, { reply = false } = {}) {
  const li = el("li", { class: `comment${reply ? " reply" : ""}${c.is_pinned ? " pinned" : ""}`, "data-id": c.id });
  const head = el("p", { class: "comment-head" },
    el("a", { href: profileUrl(c.author.username), class: "comment-author", text: `@${c.author.username}` }),
    c.reply_to ? el("span", { class: "muted", text: ` ▸ @${c.reply_to.username}` }) : null,
    el("span", { class: "muted", text: ` · ${timeAgo(c.created_at)}` }),
    c.is_pinned ? el("span", { class: "comment-badge", text: "Pinned" }) : null,
    c.liked_by_creator ? el("span", { class: "comment-badge", text: "Liked by creator" }) : null,
    c.status !== "visible" ? el("span", { class: "comment-badge", text: c.status === "held" ? "Awaiting review" : "Hidden" }) : null);
  const body = el("p", { class: "comment-text" }, ...richText(c.text));
  const like = el("button", { type: "button", class: "comment-like", "aria-pressed": String(Boolean(c.liked_by_me)),
                              "aria-label": `Like comment (${c.likes_count})` },
    el("span", { "aria-hidden": "true", text: "♥" }), el("span", { class: "count", text: compact(c.likes_count) }));
  let likes = c.likes_count;
  let liked = Boolean(c.liked_by_me);
  like.addEventListener("click", async () => {
    if (!rail.config.signedIn) { promptSignup(); return; }
    liked = !liked; likes += liked ? 1 : -1;
    paintLike();
    try {
      if (liked) await post(`/api/v1/comments/${c.id}/like`);
      else await del(`/api/v1/comments/${c.id}/like`);
    } catch { liked = !liked; likes += liked ? 1 : -1; paintLike(); }
  });
  function paintLike() {
    like.setAttribute("aria-pressed", String(liked));
    like.setAttribute("aria-label", `Like comment (${likes})`);
    like.querySelector(".count").textContent = compact(likes);
  }
  const actions = el("p", { class: "comment-actions" }, like);
  const parentId = c.parent_id || c.id;
  const replyButton = el("button", { type: "button", class: "link reply-button", text: "Reply",
                                     "aria-label": `Reply to @${c.author.username}` });
  actions.append(replyButton);
  li.append(head, body, actions);
  let replies = null;
  if (!reply) {
    replies = el("ol", { class: "replies" });
    if (c.replies_count > 0) {
      let repliesNext = `/api/v1/comments/${c.id}/replies?page_size=20`;
      const view = el("button", { type: "button", class: "link view-replies", text: `View ${c.replies_count} ${c.replies_count === 1 ? "reply" : "replies"}` });
      view.addEventListener("click", async () => {
        view.disabled = true;
        try {
          const page = await get(repliesNext);
          page.results.forEach((r) => { if (!replies.querySelector(`[data-id="${r.id}"]`)) replies.append(commentNode(r, { reply: true })); });
          repliesNext = page.next;
          if (repliesNext) { view.textContent = "More replies"; view.disabled = false; } else view.remove();
        } catch { view.disabled = false; }
      });
      li.append(view);
    }
    li.append(replies);
  }
  replyButton.addEventListener("click", () => {
    if (!rail.config.signedIn) { promptSignup(); return; }
    const repliesEl = reply ? li.closest(".replies") : replies;
    setReply({ parentId, username: c.author.username, repliesEl });
  });
  return li;
}

async function loadPage() {
  if (!nextUrl) return;
  more.hidden = true;
  const postId = rail.post.id;
  try {
    const page = await get(nextUrl);
    if (!rail || rail.post.id !== postId) return;
    page.results.forEach((c) => list.append(commentNode(c)));
    nextUrl = page.next;
    more.hidden = !nextUrl;
    if (!list.children.length) list.append(el("li", { class: "muted empty", text: "No comments yet. Be the first." }));
  } catch {
    list.append(el("li", { class: "muted empty", text: "Comments could not load." }));
  }
}

export function openComments(target) {
  rail = target;
  list.replaceChildren();
  error.hidden = true;
  setReply(null);
  input.value = "";
  countEl.textContent = String(target.state.comments);
  const closed = target.post.comment_policy === "off";
  form.hidden = closed;
  nextUrl = `/api/v1/posts/${target.post.id}/comments?page_size=20`;
  drawer.showModal();
  loadPage();
  if (!target.config.signedIn) input.placeholder = "Log in to comment";
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  if (!rail) return;
  if (!rail.config.signedIn) { promptSignup(); return; }
  const text = input.value.trim();
  if (!text) return;
  const button = form.querySelector(".send");
  button.disabled = true;
  error.hidden = true;
  try {
    const body = { text };
    if (replyTo) body.parent_id = replyTo.parentId;
    const comment = await post(`/api/v1/posts/${rail.post.id}/comments`, body);
    const node = commentNode(comment, { reply: Boolean(replyTo) });
    if (replyTo && replyTo.repliesEl) replyTo.repliesEl.append(node);
    else {
      list.querySelector(".empty")?.remove();
      list.prepend(node);
    }
    node.scrollIntoView({ block: "nearest" });
    input.value = "";
    setReply(null);
    rail.commented();
    countEl.textContent = String(rail.state.comments);
  } catch (e) {
    error.textContent = e instanceof ApiError ? e.message : "Could not post the comment.";
    error.hidden = false;
  } finally {
    button.disabled = false;
  }
});
