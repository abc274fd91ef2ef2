// Bottom sheets: share (copy link, the Web Share API, e-mail), collections for a
// favourite, the "more" menu (not interested; report opens the shared report dialog), and
// the sign-up prompt.
import { ApiError, get, post } from "../lib/api.js";
import { openReport } from "../lib/report.js";
import { ShareToDm } from "./share_dm.js";
import { el } from "./text.js";

const share = document.getElementById("share-sheet");
const collections = document.getElementById("collections-sheet");
const menu = document.getElementById("more-menu");
const signup = document.getElementById("signup-prompt");

for (const dialog of [share, collections, menu, signup]) {
  dialog.querySelector(".close").addEventListener("click", () => dialog.close());
  dialog.addEventListener("click", (event) => { if (event.target === dialog) dialog.close(); });
}

export function promptSignup() {
  if (!signup.open) signup.showModal();
}

// --- share ------------------------------------------------------------------------------

let shareRail = null;
const shareStatus = share.querySelector(".sheet-status");
const nativeShare = share.querySelector('[data-share="other"]');
nativeShare.hidden = !navigator.share;
const dmSection = share.querySelector("[data-share-dm]");
const shareDm = dmSection ? new ShareToDm(dmSection, { me: dmSection.dataset.me }) : null;

function permalink(rail) {
  return new URL(`/@${encodeURIComponent(rail.post.author.username)}/video/${rail.post.id}`, location.origin).href;
}

async function recordShare(channel) {
  const rail = shareRail;
  if (!rail) return permalink(rail);
  if (!rail.config.signedIn) { rail.shared(channel); return permalink(rail); }
  try {
    const body = await post(`/api/v1/posts/${rail.post.id}/share`, { channel });
    rail.shared(channel, body.shares_count);
    return body.url || permalink(rail);
  } catch {
    return permalink(rail);
  }
}

export function openShare(rail) {
  shareRail = rail;
  shareStatus.textContent = "";
  const mail = share.querySelector('[data-share="email"]');
  mail.href = `mailto:?subject=${encodeURIComponent("A video on SwipeMe")}&body=${encodeURIComponent(permalink(rail))}`;
  for (const link of share.querySelectorAll("[data-remix]")) {
    // offered where the creator allows it; the studio asks the server's rule again
    const kind = link.dataset.remix;
    const p = rail.post;
    link.hidden = p.visibility !== "public" || !(kind === "duet" ? p.allow_duet : p.allow_stitch);
    link.href = `/upload?${kind}=${encodeURIComponent(p.id)}`;
  }
  share.showModal();
  if (shareDm) shareDm.open(rail.post, () => recordShare("message"));
}

share.querySelector('[data-share="copy_link"]').addEventListener("click", async () => {
  const url = await recordShare("copy_link");
  try {
    await navigator.clipboard.writeText(url);
    shareStatus.textContent = "Link copied.";
  } catch {
    shareStatus.textContent = url;
  }
});
nativeShare.addEventListener("click", async () => {
  const url = permalink(shareRail);
  try {
    await navigator.share({ title: "SwipeMe", text: shareRail.post.caption, url });
    await recordShare("other");
    share.close();
  } catch { /* cancelled */ }
});
share.querySelector('[data-share="email"]').addEventListener("click", () => { recordShare("email"); });

// --- collections ------------------------------------------------------------------------

let collectionRail = null;
const collectionList = collections.querySelector(".collection-list");
const collectionForm = collections.querySelector(".collection-form");

export async function openCollections(rail) {
  collectionRail = rail;
  collectionList.replaceChildren(el("li", { class: "muted", text: "Saved to favourites." }));
  collections.showModal();
  try {
    const page = await get("/api/v1/me/collections?page_size=50");
    collectionList.replaceChildren(...page.results.map((c) => {
      const button = el("button", { type: "button", class: "sheet-button", text: `${c.name} (${c.items})` });
      button.addEventListener("click", async () => {
        await collectionRail.favourite(c.id);
        collections.close();
      });
      return el("li", {}, button);
    }));
    if (!page.results.length) collectionList.append(el("li", { class: "muted", text: "Saved to favourites. Make a collection to sort them." }));
  } catch { /* the favourite stands without a collection */ }
}

collectionForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  const name = collectionForm.elements.name.value.trim();
  if (!name) return;
  try {
    const made = await post("/api/v1/me/collections", { name });
    collectionForm.reset();
    await collectionRail.favourite(made.id);
    collections.close();
  } catch (e) {
    collectionList.prepend(el("li", { class: "form-error", text: e instanceof ApiError ? e.message : "Could not create it." }));
  }
});

// --- the more menu ------------------------------------------------------------------------

let menuRail = null;
const reportButton = menu.querySelector('[data-menu="report"]');

export function openMenu(rail) {
  menuRail = rail;
  // Reporting needs the moderation API and an account; the item is hidden otherwise.
  reportButton.hidden = !rail.config.reportsUrl;
  rail.buttons.more.setAttribute("aria-expanded", "true");
  menu.showModal();
}
menu.addEventListener("close", () => menuRail?.buttons.more.setAttribute("aria-expanded", "false"));

menu.querySelector('[data-menu="not_interested"]').addEventListener("click", () => {
  menu.close();
  menuRail.notInterested();
});
reportButton.addEventListener("click", () => {
  const rail = menuRail;
  menu.close();
  if (!rail.config.signedIn) { promptSignup(); return; }
  openReport({ targetType: "post", targetId: rail.post.id, noun: "video", reportsUrl: rail.config.reportsUrl,
               opener: rail.buttons.more, onReported: () => rail.telemetry.track("report", rail.post.id) });
});
