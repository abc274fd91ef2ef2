// Likes as taps: each tap floats a heart at once; taps are counted and sent once a second
// over the room's socket (the server aggregates everyone's and tells the room the total
// about once a second, which floats a few hearts for other people's taps).
import { post } from "../lib/api.js";
import { el } from "../feed/text.js";
import { urls } from "./urls.js";

const FLUSH_MS = 1000;
const MAX_HEARTS = 6;  // per room update: a big number stays a few hearts

export class Likes {
  constructor(page) {
    this.page = page;
    this.id = page.dataset.liveId;
    this.button = page.querySelector("[data-like]");
    this.count = page.querySelector("[data-like-count]");
    this.hearts = page.querySelector("[data-hearts]");
    this.pending = 0;
    this.total = Number(this.count.textContent) || 0;
    this.timer = null;
    this.sentSinceTick = 0;
  }

  bind(room) {
    this.room = room;
    this.button.addEventListener("click", () => this.tap());
    this.page.querySelector("[data-live-video]").addEventListener("dblclick", () => this.tap());
  }

  tap() {
    if (!this.page.dataset.me) {
      location.href = this.page.dataset.loginUrl;
      return;
    }
    if (this.page.dataset.state === "ended") return;
    this.pending += 1;
    this.setTotal(this.total + 1);
    this.heart(true);
    this.button.classList.remove("pop");
    void this.button.offsetWidth;  // restart the pop animation
    this.button.classList.add("pop");
    if (!this.timer) this.timer = setTimeout(() => this.flush(), FLUSH_MS);
  }

  async flush() {
    this.timer = null;
    const taps = this.pending;
    if (!taps) return;
    this.pending = 0;
    this.sentSinceTick += taps;
    if (this.room && this.room.send({ type: "like", count: taps })) return;
    try {
      await post(urls.likes(this.id), { count: taps });
    } catch {
      // a lost batch of taps is only a smaller number; nothing to tell
    }
  }

  setTotal(total) {
    this.total = Math.max(this.total, total);
    this.count.textContent = this.total.toLocaleString();
  }

  heart(mine = false) {
    const item = el("span", { class: `live-heart${mine ? " mine" : ""}`, style: `--drift: ${Math.round(Math.random() * 60 - 30)}px; --hue: ${Math.round(Math.random() * 60 - 30)}deg` });
    this.hearts.append(item);
    item.addEventListener("animationend", () => item.remove());
    setTimeout(() => item.remove(), 2500);
  }

  /** The room's tick: {likes (the total), likes_new (everyone's taps since the last tick,
   *  this page's included: those already floated here)}. */
  show(frame) {
    const others = Math.max(0, Number(frame.likes_new || 0) - this.sentSinceTick);
    this.sentSinceTick = 0;
    if (Number.isFinite(Number(frame.likes))) this.setTotal(Number(frame.likes));
    for (let i = 0; i < Math.min(others, MAX_HEARTS); i++) setTimeout(() => this.heart(), i * 120);
  }
}
