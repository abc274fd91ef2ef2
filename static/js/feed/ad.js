// An ad in the For You feed: the card (the post card's stage with a "Sponsored" label, the
// advertiser's display name and a call-to-action button through our click redirect, no
// rail) and its measurement. Measurement sends only the served-ad token and the event to
// POST /api/v1/ads/events; the server decides whether it counts:
//   impression  at least half of the card on screen for one continuous second
//               (IntersectionObserver, threshold 0.5)
//   view_2s     2 s of the ad's video played while at least half of it is on screen
//   view_6s     6 s of it
//   completion  played to its end once
// Events go out one after another (an event never overtakes the impression it depends on),
// each at most once per served ad.
import { csrfToken } from "../lib/api.js";

const ENDPOINT = "/api/v1/ads/events";
export const IMPRESSION_MS = 1000;
const VIEWS = [["view_2s", 2000], ["view_6s", 6000]];

function send(token, event) {
  return fetch(ENDPOINT, {
    method: "POST",
    credentials: "same-origin",
    keepalive: true,
    headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
    body: JSON.stringify({ token, event }),
  }).then((r) => r.status, () => 0);
}

export class AdMeasurement {
  constructor(ad, el, video, { root = null, transport = send } = {}) {
    this.ad = ad;
    this.video = video;
    this.transport = transport;
    this.sent = new Set(); // events already reported (or on their way)
    this.log = []; // [event, status] as the server answered (tests read it)
    this.chain = Promise.resolve();
    this.visible = false;
    this.timer = 0;
    this.playedMs = 0;
    this.lastTime = null;
    this.ended = false;
    this.observer = new IntersectionObserver((entries) => {
      for (const entry of entries) this.setVisible(entry.isIntersecting && entry.intersectionRatio >= 0.5);
    }, { root, threshold: [0, 0.5] });
    this.observer.observe(el);
    video.addEventListener("timeupdate", () => this.onTime());
    video.addEventListener("seeking", () => { this.lastTime = null; });
  }

  setVisible(on) {
    if (on === this.visible) return;
    this.visible = on;
    clearTimeout(this.timer);
    this.lastTime = null;
    if (on && !this.sent.has("impression")) {
      this.timer = setTimeout(() => { if (this.visible) this.report("impression"); }, IMPRESSION_MS);
    }
  }

  onTime() {
    const now = this.video.currentTime;
    // Only forward playback in small steps counts: a seek or a loop back is not watching.
    if (this.visible && this.lastTime != null && now > this.lastTime && now - this.lastTime < 1.5) {
      this.playedMs += (now - this.lastTime) * 1000;
    }
    this.lastTime = now;
    this.flushViews();
  }

  /** The video reached its end (the first loop): a completion. */
  completed() {
    this.ended = true;
    this.flushViews();
  }

  flushViews() {
    if (!this.sent.has("impression")) return; // nothing counts before the impression
    for (const [event, ms] of VIEWS) if (this.playedMs >= ms) this.report(event);
    if (this.ended) this.report("completion");
  }

  report(event) {
    if (this.sent.has(event)) return;
    this.sent.add(event);
    this.chain = this.chain.then(() => this.transport(this.ad.token, event))
      .then((status) => { this.log.push([event, status]); });
    if (event === "impression") this.flushViews();
  }

  stop() {
    clearTimeout(this.timer);
    this.observer.disconnect();
  }
}

/** The CTA's href: our click redirect, on this site (the API gives an absolute URL). */
export function clickHref(ad) {
  try {
    const url = new URL(ad.click_url, location.origin);
    return url.pathname.startsWith("/ads/c/") ? url.pathname : "";
  } catch { return ""; }
}

/** Turns a clone of the post card into the ad card (no rail, no author or sound links). */
export function adCard(node, ad) {
  node.classList.add("feed-ad");
  node.dataset.adId = ad.id;
  node.setAttribute("aria-label", `${ad.label || "Sponsored"} video by ${ad.display_name}`);
  node.querySelector(".rail").remove();
  node.querySelector(".derived-credit").remove();
  node.querySelector(".sound-name").remove();
  node.querySelector(".feed-caption").remove();
  const name = node.querySelector(".author-name");
  const label = document.createElement("span");
  label.className = "ad-sponsored";
  label.textContent = ad.label || "Sponsored";
  const title = document.createElement("span");
  title.className = "ad-name";
  title.textContent = ad.display_name;
  name.replaceWith(title, label);
  const cta = document.createElement("a");
  cta.className = "ad-cta";
  cta.textContent = ad.cta_label || "Learn more";
  cta.href = clickHref(ad);
  cta.target = "_blank";
  cta.rel = "sponsored noopener";
  const where = document.createElement("p");
  where.className = "ad-domain";
  where.textContent = ad.landing_domain ? `Opens ${ad.landing_domain}` : "";
  node.querySelector(".meta").append(cta, where);
  return node;
}
