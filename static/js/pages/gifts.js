// The gift and tip sheet (templates/web/partials/gift_sheet.html): the catalogue and the
// balance are read when it opens; a gift or tip is one POST with an Idempotency-Key made
// for that tap (a retry of the same tap sends the same key, so it is never sent twice);
// every refusal is shown in the server's words.
import { ApiError, get, newIdempotencyKey, post, retrying } from "../lib/api.js";
import { el } from "../feed/text.js";

const sheet = document.querySelector("[data-gift-sheet]");
const COIN_ART = sheet ? sheet.dataset.coinArt : "";
const opener = document.querySelector("[data-gift-open]");

function status(text, isError = false) {
  const line = sheet.querySelector("[data-gift-status]");
  line.textContent = text;
  line.classList.toggle("form-error", isError);
}

function showBalance(coins) {
  sheet.querySelector("[data-gift-balance]").textContent = coins.toLocaleString();
}

// The gift's picture: its artwork when it has one (an emoji needs a font the device may
// lack), else the emoji.
function art(gift, className) {
  if (gift.animation_url) return el("img", { class: className, src: gift.animation_url, alt: "" });
  return el("span", { class: className, "aria-hidden": "true", text: gift.emoji });
}

function burst(gift) {
  const stage = document.querySelector("[data-gift-stage]");
  if (!stage) return;
  const item = art(gift, `gift-fly gift-anim-${gift.animation}`);
  stage.append(item);
  item.addEventListener("animationend", () => item.remove());
  setTimeout(() => item.remove(), 3000);  // reduced motion: no animationend
}

async function send(url, body, label) {
  const key = newIdempotencyKey();
  status("Sending…");
  sheet.querySelectorAll("button[data-gift-id], [data-tip-send]").forEach((b) => { b.disabled = true; });
  try {
    const sent = await retrying(() => post(url, body, { idempotencyKey: key }));
    showBalance(sent.balance);
    status(`${label} sent to @${sheet.dataset.username}.`);
    burst(sent.gift || { emoji: "", animation: "float", animation_url: COIN_ART });
    return true;
  } catch (error) {
    const words = error instanceof ApiError ? error.message : "Could not send. Check your connection and try again.";
    status(words, true);
    return false;
  } finally {
    sheet.querySelectorAll("button[data-gift-id], [data-tip-send]").forEach((b) => { b.disabled = false; });
  }
}

function renderGifts(gifts) {
  const grid = sheet.querySelector("[data-gift-grid]");
  if (!grid) return;
  grid.replaceChildren(...gifts.map((gift) => el("li", {},
    el("button", { type: "button", class: "gift-choice", "data-gift-id": gift.id,
      "aria-label": `${gift.name}, ${gift.coins} coin${gift.coins === 1 ? "" : "s"}` },
    art(gift, "gift-emoji"),
    el("span", { class: "gift-name", text: gift.name }),
    el("span", { class: "gift-price" }, el("span", { class: "coin", "aria-hidden": "true" }),
      gift.coins.toLocaleString())))));
  grid.querySelectorAll("button[data-gift-id]").forEach((button) => {
    const gift = gifts.find((g) => g.id === button.dataset.giftId);
    button.addEventListener("click", () => send(`/api/v1/posts/${sheet.dataset.postId}/gifts`,
      { gift_id: gift.id }, `${gift.emoji} ${gift.name}`));
  });
}

async function open() {
  sheet.showModal();
  status("");
  try {
    const [wallet, gifts] = await Promise.all([get("/api/v1/coins/wallet"),
      sheet.dataset.postId ? get("/api/v1/gifts") : Promise.resolve([])]);
    showBalance(wallet.balance);
    renderGifts(gifts);
    if (!wallet.can_use_coins) status(wallet.refusal, true);
  } catch (error) {
    status(error instanceof ApiError ? error.message : "Could not load your coins.", true);
  }
}

if (sheet && opener) {
  opener.addEventListener("click", open);
  sheet.querySelector("[data-gift-close]").addEventListener("click", () => sheet.close());
  sheet.addEventListener("click", (event) => { if (event.target === sheet) sheet.close(); });
  sheet.addEventListener("close", () => opener.focus({ preventScroll: true }));
  sheet.querySelector("[data-tip-form]").addEventListener("submit", async (event) => {
    event.preventDefault();
    const input = sheet.querySelector("[data-tip-coins]");
    const coins = Number(input.value);
    if (!Number.isInteger(coins) || coins < 1) {
      status("Enter a whole number of coins (1 or more).", true);
      input.focus();
      return;
    }
    const url = sheet.dataset.postId ? `/api/v1/posts/${sheet.dataset.postId}/tips`
      : `/api/v1/users/${encodeURIComponent(sheet.dataset.username)}/tips`;
    if (await send(url, { coins }, `A tip of ${coins.toLocaleString()} coin${coins === 1 ? "" : "s"}`)) input.value = "";
  });
}
