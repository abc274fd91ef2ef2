// Buttons that call the API in place of a form: follow / unfollow, approve or deny a
// follow request, unblock, end a session. Markup declares what happens:
//   <button data-action="POST|DELETE" data-url="/api/v1/..." data-then="reload|remove|home|/a/path"
//           [data-body='{"json": true}'] [data-confirm="Are you sure?"] [data-done="Said">
// copy buttons: <button data-copy="#input-id">, and report buttons (below).
// A follow button also tells the event log (creator analytics' followers gained and lost):
//   data-telemetry="follow|unfollow" data-creator-id="…"
import { api } from "../lib/api.js";
import { Telemetry } from "../lib/events.js";

let telemetry = null;

/** The follow or unfollow just done, sent before the page reloads (keepalive). */
function tell(button, result) {
  const type = button.dataset.telemetry;
  if (!type || !button.dataset.creatorId) return Promise.resolve();
  if (type === "follow" && result && result.state !== "following") return Promise.resolve(); // a request
  telemetry = telemetry || new Telemetry();
  telemetry.track(type, null, { creator_id: button.dataset.creatorId });
  return telemetry.flushAll();
}

function announce(text) {
  let region = document.querySelector("[data-status]");
  if (!region) {
    region = document.createElement("p");
    region.className = "visually-hidden";
    region.setAttribute("role", "status");
    region.setAttribute("aria-live", "polite");
    region.dataset.status = "";
    document.body.append(region);
  }
  region.textContent = text;
}

function toast(text, isError = false) {
  const el = document.createElement("div");
  el.className = `toast${isError ? " error" : ""}`;
  el.setAttribute("role", isError ? "alert" : "status");
  el.textContent = text;
  document.body.append(el);
  setTimeout(() => el.remove(), 4000);
}

async function run(button) {
  if (button.dataset.confirm && !window.confirm(button.dataset.confirm)) return;
  const body = button.dataset.body ? JSON.parse(button.dataset.body) : undefined;
  button.disabled = true;
  button.setAttribute("aria-busy", "true");
  let result;
  try {
    result = await api(button.dataset.action, button.dataset.url, body);
  } catch (error) {
    button.disabled = false;
    button.removeAttribute("aria-busy");
    toast(error.message || "Something went wrong. Try again.", true);
    return;
  }
  await tell(button, result).catch(() => { /* telemetry is best effort */ });
  const then = button.dataset.then || "reload";
  if (button.dataset.done) announce(button.dataset.done);
  if (then === "remove") {
    const row = button.closest("[data-row]");
    if (row) {
      // Keep keyboard focus in the list rather than losing it with the removed row.
      const next = row.nextElementSibling || row.previousElementSibling;
      row.remove();
      const target = next && next.querySelector("button, a");
      if (target) target.focus();
    }
    if (button.dataset.done) toast(button.dataset.done);
  } else if (then === "home") {
    window.location.assign("/");
  } else if (then.startsWith("/")) {
    window.location.assign(then);
  } else {
    window.location.reload();
  }
}

document.addEventListener("click", (event) => {
  // Report buttons (profiles, the post page): the shared report dialog, loaded when needed.
  //   <button data-report-type="user|post" data-report-id="…" data-report-noun="account">
  const report = event.target.closest("button[data-report-type]");
  if (report) {
    event.preventDefault();
    import("../lib/report.js").then(({ openReport }) => openReport({
      targetType: report.dataset.reportType, targetId: report.dataset.reportId,
      noun: report.dataset.reportNoun || "content", opener: report }));
    return;
  }
  const button = event.target.closest("button[data-action][data-url]");
  if (button) {
    event.preventDefault();
    run(button);
    return;
  }
  const copy = event.target.closest("button[data-copy]");
  if (copy) {
    const input = document.querySelector(copy.dataset.copy);
    if (!input) return;
    const done = () => { toast("Link copied"); announce("Link copied"); };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(input.value).then(done, () => { input.select(); });
    } else {
      input.select();
      try { document.execCommand("copy"); done(); } catch { /* selected for the user */ }
    }
  }
});
