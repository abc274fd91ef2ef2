// The ad-group form's audience estimate: whenever a targeting field changes, the form's
// fields are sent (debounced, as a GET query) to the portal's estimate view, which asks apps.ads; the
// number, or why there is none, replaces the one shown. Without script the estimate is
// computed on save.
const form = document.querySelector("[data-adgroup-form]");
const box = document.querySelector("[data-estimate]");
const value = box?.querySelector("[data-estimate-value]");
const note = box?.querySelector("[data-estimate-note]");
const warning = box?.querySelector("[data-estimate-warning]");
let timer = null;
let controller = null;

async function refresh() {
  controller?.abort();
  controller = new AbortController();
  box.setAttribute("aria-busy", "true");
  try {
    const fields = new URLSearchParams(new FormData(form));
    fields.delete("csrfmiddlewaretoken");
    const response = await fetch(`${form.dataset.estimateUrl}?${fields}`, {
      headers: { Accept: "application/json" },
      credentials: "same-origin",
      signal: controller.signal,
    });
    if (response.status === 429) throw new Error("throttled");
    const data = await response.json();
    if (data.ok) {
      value.textContent = data.text;
      note.textContent = data.note || "";
      warning.hidden = !data.below_minimum;
      warning.textContent = data.below_minimum ? data.warning : "";
    } else {
      value.textContent = "–";
      const problems = Object.values(data.fields || {}).flat();
      note.textContent = [data.message, ...problems].filter(Boolean).join(" ");
      warning.hidden = true;
    }
    box.dataset.state = data.ok ? "ok" : "error";
  } catch (error) {
    if (error.name === "AbortError") return;
    note.textContent = error.message === "throttled"
      ? "Too many updates at once; the estimate refreshes when you save."
      : "The estimate is unavailable right now.";
  } finally {
    box.removeAttribute("aria-busy");
  }
}

function schedule() {
  clearTimeout(timer);
  timer = setTimeout(refresh, 350);
}

if (form && box) {
  const targeting = form.querySelector("[data-targeting]");
  targeting?.addEventListener("change", schedule);
  targeting?.addEventListener("input", (event) => {
    if (event.target.matches('input[type="text"]')) schedule();
  });
}
