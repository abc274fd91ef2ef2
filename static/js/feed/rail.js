// The side rail of one feed item: author (profile link + follow), like (and the double-tap
// heart), comments, favourite (into a collection), share, the "more" menu, the sound disc.
import { api, del, post, retrying } from "../lib/api.js";
import { compact } from "./text.js";
import { openComments } from "./comments.js";
import { openShare, openCollections, openMenu, promptSignup } from "./sheets.js";

export class Rail {
  constructor(item, { config, telemetry, onRemove }) {
    this.item = item;
    this.post = item.post;
    this.config = config;
    this.telemetry = telemetry;
    this.onRemove = onRemove;
    const el = item.el;
    this.el = el;
    const p = this.post;
    const viewer = p.viewer || {};
    this.state = {
      liked: Boolean(viewer.liked), favourited: Boolean(viewer.favourited),
      following: Boolean(viewer.follows_author),
      likes: p.counts.likes, comments: p.counts.comments, shares: p.counts.shares,
      favourites: p.counts.favourites,
    };
    const author = p.author;
    const avatarLink = el.querySelector(".avatar-link");
    avatarLink.href = `/@${encodeURIComponent(author.username)}`;
    avatarLink.setAttribute("aria-label", `@${author.username}'s profile`);
    const avatar = el.querySelector(".rail-avatar");
    const image = author.avatar && (author.avatar["96"] || author.avatar["64"] || Object.values(author.avatar)[0]);
    if (image) avatar.style.backgroundImage = `url("${image}")`;
    else avatar.textContent = (author.display_name || author.username || "?").slice(0, 1).toUpperCase();
    if (author.is_live && author.live_id) {
      // live now: the ring, and the avatar leads to the live instead of the profile
      avatarLink.href = `/live/${encodeURIComponent(author.live_id)}`;
      avatarLink.setAttribute("aria-label", `@${author.username} is live now: watch`);
      avatarLink.classList.add("is-live");
    }

    this.followButton = el.querySelector(".follow");
    this.canFollow = !(config.me && config.me === author.username);
    if (!this.canFollow) this.followButton.remove();
    this.followButton.addEventListener("click", () => this.follow());
    this.buttons = {
      like: el.querySelector(".like"), comment: el.querySelector(".comment"),
      favourite: el.querySelector(".favourite"), share: el.querySelector(".share"),
      more: el.querySelector(".more"),
    };
    this.buttons.like.addEventListener("click", () => this.like());
    this.buttons.comment.addEventListener("click", () => this.openComments());
    this.buttons.favourite.addEventListener("click", () => this.favourite());
    this.buttons.share.addEventListener("click", () => openShare(this));
    this.buttons.more.addEventListener("click", () => openMenu(this));
    if (p.comment_policy === "off") this.buttons.comment.disabled = true;
    this.paint();
  }

  paint() {
    const s = this.state;
    const b = this.buttons;
    const who = `@${this.post.author.username}`;
    b.like.setAttribute("aria-pressed", String(s.liked));
    // Each name contains the count shown (WCAG 2.5.3, label in name): "Like, 1.2K likes".
    b.like.setAttribute("aria-label", `${s.liked ? "Unlike" : "Like"}, ${compact(s.likes)} likes`);
    b.like.querySelector(".count").textContent = compact(s.likes);
    b.comment.setAttribute("aria-label", `Comments, ${compact(s.comments)}`);
    b.comment.querySelector(".count").textContent = compact(s.comments);
    b.favourite.setAttribute("aria-pressed", String(s.favourited));
    b.favourite.setAttribute("aria-label", `${s.favourited ? "Remove from favourites" : "Add to favourites"}, ${compact(s.favourites)}`);
    b.favourite.querySelector(".count").textContent = compact(s.favourites);
    b.share.setAttribute("aria-label", `Share, ${compact(s.shares)}`);
    b.share.querySelector(".count").textContent = compact(s.shares);
    if (this.canFollow) {
      this.followButton.setAttribute("aria-pressed", String(s.following));
      this.followButton.setAttribute("aria-label", s.following ? `Unfollow ${who}` : `Follow ${who}`);
      this.followButton.classList.toggle("following", s.following);
    }
  }

  needsAccount() {
    if (this.config.signedIn) return false;
    promptSignup();
    return true;
  }

  /** Toggle the like; `only` (double-tap) never unlikes. */
  async like({ only = false } = {}) {
    if (this.needsAccount()) return;
    const s = this.state;
    if (only && s.liked) return;
    const liking = !s.liked;
    s.liked = liking;
    s.likes = Math.max(0, s.likes + (liking ? 1 : -1));
    this.paint();
    try {
      if (liking) {
        const body = await retrying(() => post(`/api/v1/posts/${this.post.id}/like`));
        if (body && body.counts) s.likes = body.counts.likes ?? s.likes;
        this.telemetry.track("like", this.post.id);
      } else {
        await retrying(() => del(`/api/v1/posts/${this.post.id}/like`));
      }
    } catch {
      s.liked = !liking;
      s.likes = Math.max(0, s.likes + (liking ? -1 : 1));
    }
    this.paint();
  }

  heart(x, y) {
    const layer = this.el.querySelector(".hearts");
    const box = layer.getBoundingClientRect();
    const heart = document.createElement("span");
    heart.className = "heart";
    heart.style.left = `${x - box.left}px`;
    heart.style.top = `${y - box.top}px`;
    layer.append(heart);
    setTimeout(() => heart.remove(), 900);
  }

  async follow() {
    if (this.needsAccount()) return;
    const s = this.state;
    const username = encodeURIComponent(this.post.author.username);
    const following = s.following;
    s.following = !following;
    this.paint();
    try {
      if (following) {
        await retrying(() => del(`/api/v1/users/${username}/follow`));
        this.telemetry.track("unfollow", this.post.id, { creator_id: this.post.author.id });
      } else {
        const body = await retrying(() => post(`/api/v1/users/${username}/follow`));
        s.following = body.state === "following";
        if (body.state === "requested") this.followButton.classList.add("requested");
        this.telemetry.track("follow", this.post.id, { creator_id: this.post.author.id });
      }
    } catch {
      s.following = following;
    }
    this.paint();
  }

  async favourite(collectionId) {
    if (this.needsAccount()) return;
    const s = this.state;
    if (s.favourited && collectionId === undefined) {
      s.favourited = false; s.favourites = Math.max(0, s.favourites - 1); this.paint();
      try { await retrying(() => del(`/api/v1/posts/${this.post.id}/favourite`)); } catch { s.favourited = true; s.favourites += 1; }
      this.paint();
      return;
    }
    const body = collectionId ? { collection_id: collectionId } : undefined;
    const was = s.favourited;
    if (!was) { s.favourited = true; s.favourites += 1; this.paint(); }
    try {
      await retrying(() => api("POST", `/api/v1/posts/${this.post.id}/favourite`, body));
      this.telemetry.track("favourite", this.post.id);
      if (collectionId === undefined) openCollections(this);
    } catch {
      if (!was) { s.favourited = false; s.favourites -= 1; }
    }
    this.paint();
  }

  openComments() {
    openComments(this);
  }

  commented() {
    this.state.comments += 1;
    this.paint();
    this.telemetry.track("comment", this.post.id);
  }

  shared(channel, shares) {
    if (typeof shares === "number") this.state.shares = shares;
    this.paint();
    this.telemetry.track("share", this.post.id);
  }

  async notInterested() {
    this.telemetry.track("not_interested", this.post.id);
    if (this.config.signedIn) {
      try { await post(`/api/v1/posts/${this.post.id}/not-interested`); } catch { /* the event still counts */ }
    }
    this.onRemove();
  }
}

