// Gifts in a live: the picker (the catalogue and the coin balance, read when it opens), one
// POST per tap with its own Idempotency-Key (a retry of the tap sends the same key), the
// refusal in the server's words; the animation plays for everyone when the room tells it.
import { ApiError, get, newIdempotencyKey, post, retrying } from "../lib/api.js";
import { el } from "../feed/text.js";
import { urls } from "./urls.js";

function art(gift, className) {
  if (gift.animation_url) return el("img", { class: className, src: gift.animation_url, alt: "" });
  return el("span", { class: className, "aria-hidden": "true", text: gift.emoji || "🎁" });
}

export function setupGifts(page) {
  const stage = page.querySelector("[data-gift-stage]");
  const animate = (gift) => {
    if (!stage || !gift) return;
    page.dataset.giftsShown = String(Number(page.dataset.giftsShown || 0) + 1);  // tests read it
    const item = art(gift, `gift-fly gift-anim-${gift.animation || "float"}`);
    stage.append(item);
    item.addEventListener("animationend", () => item.remove());
    setTimeout(() => item.remove(), 3000);  // reduced motion: no animationend
  };
  const sheet = page.querySelector("[data-gift-sheet]");
  const opener = page.querySelector("[data-gift-open]");
  if (!sheet || !opener) return { animate };
  const id = page.dataset.liveId;
  const status = (text, isError = false) => {
    const line = sheet.querySelector("[data-gift-status]");
    line.textContent = text;
    line.classList.toggle("form-error", isError);
  };
  const showBalance = (coins) => {
    sheet.querySelector("[data-gift-balance]").textContent = Number(coins).toLocaleString();
  };
  const buttons = () => sheet.querySelectorAll("button[data-gift-id]");

  async function send(gift) {
    const key = newIdempotencyKey();
    status("Sending…");
    buttons().forEach((b) => { b.disabled = true; });
    try {
      const sent = await retrying(() => post(urls.gifts(id), { gift_id: gift.id }, { idempotencyKey: key }));
      if (sent && typeof sent.balance === "number") showBalance(sent.balance);
      status(`${gift.emoji || ""} ${gift.name} sent to @${page.dataset.host}.`);
      if (!page.dataset.socketOpen) animate(gift);  // the room would have shown it
    } catch (error) {
      status(error instanceof ApiError ? error.message : "Could not send. Check your connection and try again.", true);
    } finally {
      buttons().forEach((b) => { b.disabled = false; });
    }
  }

  function render(gifts) {
    const grid = sheet.querySelector("[data-gift-grid]");
    grid.replaceChildren(...gifts.map((gift) => {
      const button = el("button", { type: "button", class: "gift-choice", "data-gift-id": gift.id,
        "aria-label": `${gift.name}, ${gift.coins} coin${gift.coins === 1 ? "" : "s"}` },
      art(gift, "gift-emoji"),
      el("span", { class: "gift-name", text: gift.name }),
      el("span", { class: "gift-price" }, el("span", { class: "coin", "aria-hidden": "true" }), gift.coins.toLocaleString()));
      button.addEventListener("click", () => send(gift));
      return el("li", {}, button);
    }));
  }

  opener.addEventListener("click", async () => {
    sheet.showModal();
    status("");
    try {
      const [wallet, gifts] = await Promise.all([get("/api/v1/coins/wallet"), get("/api/v1/gifts")]);
      showBalance(wallet.balance);
      render(Array.isArray(gifts) ? gifts : (gifts.results || []));
      if (!wallet.can_use_coins) status(wallet.refusal, true);
    } catch (error) {
      status(error instanceof ApiError ? error.message : "Could not load your coins.", true);
    }
  });
  sheet.querySelector("[data-gift-close]").addEventListener("click", () => sheet.close());
  sheet.addEventListener("click", (event) => { if (event.target === sheet) sheet.close(); });
  sheet.addEventListener("close", () => opener.focus({ preventScroll: true }));
  return { animate };
}
