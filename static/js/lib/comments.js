// A post's comment thread, wherever it is shown (the feed's drawer, the post page): top-level
// comments (pinned first, as the API orders them), replies on demand, likes, Report, and a
// form that comments or replies (with the @mention prefilled). The markup under `root`:
//   .comment-list, .more-comments, .comments-count (optional) and
//   form.comment-form > .replying > span + .cancel-reply, input, .send, .form-error
import { ApiError, get, post, del, newIdempotencyKey, retrying } from "./api.js";
import { compact, el, profileUrl, richText, timeAgo } from "../feed/text.js";
import { openReport } from "./report.js";

export class CommentThread {
  /**
   * options: onSignup() (a signed-out viewer tried to act), onCommented() → the new count
   * (or nothing), reportsUrl ("" hides Report).
   */
  constructor(root, { onSignup, onCommented, reportsUrl = "" } = {}) {
    this.root = root;
    this.onSignup = onSignup || (() => {});
    this.onCommented = onCommented || (() => {});
    this.reportsUrl = reportsUrl;
    this.list = root.querySelector(".comment-list");
    this.more = root.querySelector(".more-comments");
    this.form = root.querySelector(".comment-form");
    this.input = this.form.querySelector("input, textarea");
    this.replying = this.form.querySelector(".replying");
    this.error = this.form.querySelector(".form-error");
    this.countEl = root.querySelector(".comments-count");
    this.target = null; // { id, comments, commentPolicy, signedIn, me }
    this.nextUrl = null;
    this.replyTo = null; // { parentId, username, repliesEl }
    this.more.addEventListener("click", () => this.loadPage());
    this.form.querySelector(".cancel-reply").addEventListener("click", () => this.setReply(null));
    this.form.addEventListener("submit", (event) => { event.preventDefault(); this.submit(); });
  }

  /** Show the thread of `target` ({id, comments, commentPolicy, signedIn, me}). */
  open(target) {
    this.target = target;
    this.list.replaceChildren();
    this.error.hidden = true;
    this.setReply(null, { focus: false });
    this.input.value = "";
    this.paintCount();
    this.form.hidden = target.commentPolicy === "off";
    if (!target.signedIn) this.input.placeholder = "Log in to comment";
    this.nextUrl = `/api/v1/posts/${target.id}/comments?page_size=20`;
    return this.loadPage();
  }

  close() {
    this.target = null;
  }

  paintCount() {
    if (this.countEl && this.target) this.countEl.textContent = String(this.target.comments);
  }

  setReply(target, { focus = true } = {}) {
    const { input, replying } = this;
    this.replyTo = target;
    replying.hidden = !target;
    if (target) {
      replying.querySelector("span").textContent = `Replying to @${target.username}`;
      if (!input.value.startsWith(`@${target.username}`)) input.value = `@${target.username} ${input.value}`;
    } else if (/^@\S+ /.test(input.value)) {
      input.value = input.value.replace(/^@\S+ /, "");
    }
    if (focus) input.focus();
  }

  needsAccount() {
    if (this.target && this.target.signedIn) return false;
    this.onSignup();
    return true;
  }

  commentNode(c, { reply = false } = {}) {
    const li = el("li", { class: `comment${reply ? " reply" : ""}${c.is_pinned ? " pinned" : ""}`, "data-id": c.id });
    const head = el("p", { class: "comment-head" },
      el("a", { href: profileUrl(c.author.username), class: "comment-author", text: `@${c.author.username}` }),
      c.reply_to ? el("span", { class: "muted", text: ` ▸ @${c.reply_to.username}` }) : null,
      el("span", { class: "muted", text: ` · ${timeAgo(c.created_at)}` }),
      c.is_pinned ? el("span", { class: "comment-badge", text: "Pinned" }) : null,
      c.liked_by_creator ? el("span", { class: "comment-badge", text: "Liked by creator" }) : null,
      c.author_is_subscriber ? el("span", { class: "comment-badge", "data-subscriber-badge": "", title: "Subscribes to this creator", text: "Subscriber" }) : null,
      c.status !== "visible" ? el("span", { class: "comment-badge", text: c.status === "held" ? "Awaiting review" : "Hidden" }) : null);
    const body = el("p", { class: "comment-text" }, ...richText(c.text));
    const like = el("button", { type: "button", class: "comment-like", "aria-pressed": String(Boolean(c.liked_by_me)),
                                "aria-label": `Like comment (${c.likes_count})` },
      el("span", { "aria-hidden": "true", text: "♥" }), el("span", { class: "count", text: compact(c.likes_count) }));
    let likes = c.likes_count;
    let liked = Boolean(c.liked_by_me);
    const paintLike = () => {
      like.setAttribute("aria-pressed", String(liked));
      like.setAttribute("aria-label", `Like comment (${likes})`);
      like.querySelector(".count").textContent = compact(likes);
    };
    like.addEventListener("click", async () => {
      if (this.needsAccount()) return;
      liked = !liked; likes += liked ? 1 : -1;
      paintLike();
      try {
        if (liked) await post(`/api/v1/comments/${c.id}/like`);
        else await del(`/api/v1/comments/${c.id}/like`);
      } catch { liked = !liked; likes += liked ? 1 : -1; paintLike(); }
    });
    const actions = el("p", { class: "comment-actions" }, like);
    const parentId = c.parent_id || c.id;
    const replyButton = el("button", { type: "button", class: "link reply-button", text: "Reply",
                                       "aria-label": `Reply to @${c.author.username}` });
    actions.append(replyButton);
    // Report: for a signed-in viewer, never on their own comment (the API refuses it).
    if (this.reportsUrl && this.target.signedIn && c.author.username !== this.target.me) {
      const report = el("button", { type: "button", class: "link report-button", text: "Report",
                                    "aria-label": `Report @${c.author.username}'s comment`, "aria-haspopup": "dialog" });
      report.addEventListener("click", () => openReport({
        targetType: "comment", targetId: c.id, noun: "comment", reportsUrl: this.reportsUrl, opener: report }));
      actions.append(report);
    }
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
            page.results.forEach((r) => { if (!replies.querySelector(`[data-id="${r.id}"]`)) replies.append(this.commentNode(r, { reply: true })); });
            repliesNext = page.next;
            if (repliesNext) { view.textContent = "More replies"; view.disabled = false; } else view.remove();
          } catch { view.disabled = false; }
        });
        li.append(view);
      }
      li.append(replies);
    }
    replyButton.addEventListener("click", () => {
      if (this.needsAccount()) return;
      const repliesEl = reply ? li.closest(".replies") : replies;
      this.setReply({ parentId, username: c.author.username, repliesEl });
    });
    return li;
  }

  async loadPage() {
    if (!this.nextUrl || !this.target) return;
    const { list, more } = this;
    more.hidden = true;
    const target = this.target;
    try {
      const page = await get(this.nextUrl);
      if (this.target !== target) return; // another post's thread opened meanwhile
      page.results.forEach((c) => list.append(this.commentNode(c)));
      this.nextUrl = page.next;
      more.hidden = !this.nextUrl;
      if (!list.children.length) list.append(el("li", { class: "muted empty", text: "No comments yet. Be the first." }));
    } catch {
      list.append(el("li", { class: "muted empty", text: "Comments could not load." }));
    }
  }

  async submit() {
    if (!this.target) return;
    if (this.needsAccount()) return;
    const { input, error, list } = this;
    const text = input.value.trim();
    if (!text) return;
    const button = this.form.querySelector(".send");
    button.disabled = true;
    error.hidden = true;
    try {
      const body = { text };
      const replyTo = this.replyTo;
      if (replyTo) body.parent_id = replyTo.parentId;
      const url = `/api/v1/posts/${this.target.id}/comments`;
      // One key per comment the person means to post: kept while the same comment is sent
      // again (our retries, or Send pressed after they gave up), so a send that committed
      // but lost its answer is not posted twice; a new comment gets a new key.
      const what = JSON.stringify([url, body]);
      if (!this.pending || this.pending.what !== what) this.pending = { what, key: newIdempotencyKey() };
      const idempotencyKey = this.pending.key;
      const comment = await retrying(() => post(url, body, { idempotencyKey }));
      this.pending = null;
      const node = this.commentNode(comment, { reply: Boolean(replyTo) });
      if (replyTo && replyTo.repliesEl) replyTo.repliesEl.append(node);
      else {
        list.querySelector(".empty")?.remove();
        list.prepend(node);
      }
      node.scrollIntoView({ block: "nearest" });
      input.value = "";
      this.setReply(null);
      const count = this.onCommented();
      this.target.comments = typeof count === "number" ? count : this.target.comments + 1;
      this.paintCount();
    } catch (e) {
      error.textContent = e instanceof ApiError ? e.message : "Could not post the comment.";
      error.hidden = false;
    } finally {
      button.disabled = false;
    }
  }
}
