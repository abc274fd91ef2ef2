// The /coins page: choose a pack and a payment method, start the purchase (one
// Idempotency-Key per tap), approve it on the provider's page when it asks (3-D Secure),
// then wait for the provider's confirmation: the coins come only then. Words for every state.
// With Stripe (the form has data-stripe-key): the purchase answers the PaymentIntent's
// client_secret; Stripe.js (loaded by the page) mounts its Payment Element and
// stripe.confirmPayment sends the payer back here (return_url: /coins?purchase=<id>), where
// the purchase is followed until Stripe's webhook credits the coins.
import { ApiError, get, newIdempotencyKey, post, retrying } from "../lib/api.js";

const form = document.querySelector("[data-buy-form]");
const stripeKey = form ? form.dataset.stripeKey : undefined;
// Back from Stripe's confirmation: it adds redirect_status to our return_url.
const redirected = new URLSearchParams(window.location.search).has("redirect_status");

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
    status(purchase.status === "requires_action" && redirected
      ? WORDS.processing : (WORDS[purchase.status] || purchase.status_text));
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
  status("The payment is still being confirmed. Your coins will appear here when it is.");
}

// Stripe: mount the Payment Element for this purchase's PaymentIntent and confirm it on Pay.
// Stripe.js sends the payer to return_url when it is done; an error it answers at once
// (a declined card, a field left empty) is shown here in its words.
function confirmWithStripe(purchase) {
  if (typeof window.Stripe !== "function") {
    status("The card form (Stripe.js) could not be loaded. Check your connection and reload the page.", true);
    return;
  }
  const stripe = window.Stripe(purchase.publishable_key || stripeKey);
  const elements = stripe.elements({ clientSecret: purchase.client_secret });
  const box = form.querySelector("[data-payment-element]");
  box.replaceChildren();
  box.hidden = false;
  elements.create("payment").mount(box);
  form.querySelectorAll("[data-pack-id]").forEach((b) => { b.disabled = true; });
  form.querySelector("[data-buy]").hidden = true;
  const pay = form.querySelector("[data-pay]");
  const price = form.querySelector('[data-pack-id][aria-pressed="true"] .pack-price');
  pay.textContent = price ? `Pay ${price.textContent}` : "Pay";
  pay.hidden = false;
  status("Enter your card details, then Pay.");
  pay.onclick = async () => {
    pay.disabled = true;
    status("Confirming the payment…");
    const returnUrl = new URL(`${window.location.pathname}?purchase=${purchase.id}`, window.location.origin).href;
    try {
      const { error } = await stripe.confirmPayment({ elements, confirmParams: { return_url: returnUrl } });
      if (error && error.type === "card_error") {
        // Declined: this purchase is over (Stripe's payment_failed event fails it); Buy
        // starts another one.
        box.replaceChildren();
        box.hidden = true;
        pay.hidden = true;
        form.querySelector("[data-buy]").hidden = false;
        form.querySelectorAll("[data-pack-id]").forEach((b) => { b.disabled = false; });
        status(`${error.message || "The card was refused."} Nothing was charged. Choose Buy to try another card.`, true);
      } else if (error) {
        status(`${error.message || "The payment could not be confirmed."} Nothing was charged: check the details and Pay again.`, true);
      }
    } catch {
      status("Could not reach the payment provider. Nothing was charged; try again.", true);
    } finally {
      pay.disabled = false;
    }
  };
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
    if (!chosen || (!stripeKey && (!method || !method.value))) {
      status(stripeKey ? "Choose a pack." : "Choose a pack and a payment method.", true);
      return;
    }
    const key = newIdempotencyKey();
    const button = form.querySelector("[data-buy]");
    button.disabled = true;
    status("Starting the payment…");
    try {
      const purchase = await retrying(() => post("/api/v1/coins/purchases", {
        pack_id: chosen.dataset.packId, payment_method: stripeKey ? "" : method.value,
        return_url: `${window.location.pathname}?purchase={id}`,
      }, { idempotencyKey: key }));
      if (stripeKey && purchase.status === "requires_action" && purchase.client_secret) {
        confirmWithStripe(purchase);
        return;
      }
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
