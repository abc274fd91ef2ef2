// The /coins page: choose a pack and a payment method, start the purchase (one
// Idempotency-Key per tap), approve it on the provider's page when it asks (3-D Secure),
// then wait for the provider's confirmation: the coins come only then. Words for every state.
import { ApiError, get, newIdempotencyKey, post, retrying } from "../lib/api.js";

const form = document.querySelector("[data-buy-form]");

function status(text, isError = false) {
  const line = form.querySelector("[data-buy-status]");
  line.textContent = text;
  line.classList.toggle("form-error", isError);
}

const WORDS = {
  processing: "Waiting for the payment to be confirmed…",
  requires_action: "Approve the payment to continue…",
  succeeded: "Done: your coins were added.",
};

async function follow(id) {
  const deadline = Date.now() + 60000;
  while (Date.now() < deadline) {
    const purchase = await get(`/api/v1/coins/purchases/${id}`);
    if (purchase.status === "succeeded") {
      status(`Done: ${purchase.coins.toLocaleString()} coins were added.`);
      const wallet = await get("/api/v1/coins/wallet");
      document.querySelector("[data-coin-balance]").textContent = wallet.balance;
      setTimeout(() => window.location.reload(), 1200);  // the history
      return;
    }
    if (purchase.status === "failed") {
      status(`The payment failed: ${purchase.failure_reason || "no reason given"} No coins were added and nothing was charged.`, true);
      return;
    }
    status(WORDS[purchase.status] || purchase.status_text);
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
  status("The payment is still being confirmed. Your coins will appear here when it is.");
}

if (form) {
  const packs = form.querySelectorAll("[data-pack-id]");
  packs.forEach((button) => button.addEventListener("click", () => {
    packs.forEach((b) => b.setAttribute("aria-pressed", String(b === button)));
  }));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const chosen = form.querySelector('[data-pack-id][aria-pressed="true"]');
    const method = form.querySelector('[name="payment_method"]:checked') || form.querySelector('input[name="payment_method"]');
    if (!chosen || !method || !method.value) {
      status("Choose a pack and a payment method.", true);
      return;
    }
    const key = newIdempotencyKey();
    const button = form.querySelector("[data-buy]");
    button.disabled = true;
    status("Starting the payment…");
    try {
      const purchase = await retrying(() => post("/api/v1/coins/purchases", {
        pack_id: chosen.dataset.packId, payment_method: method.value,
        return_url: `${window.location.pathname}?purchase={id}`,
      }, { idempotencyKey: key }));
      if (purchase.status === "requires_action" && purchase.next_action_url) {
        status("Opening the approval page…");
        window.location.assign(purchase.next_action_url);
        return;
      }
      await follow(purchase.id);
    } catch (error) {
      status(error instanceof ApiError ? error.message : "Could not start the payment. Try again.", true);
    } finally {
      button.disabled = false;
    }
  });
  const back = new URLSearchParams(window.location.search).get("purchase");
  if (back && /^\d+$/.test(back)) follow(back);
}
