// The report dialog, one for every surface (the feed's menu, the post page, profiles,
// comments): the reasons come from the moderation API's policy list (with each rule's
// guidelines page), the report goes to POST /api/v1/reports, and the reporter is told in
// words what happened (sent, or why not).
import { ApiError, get, post, retrying } from "./api.js";
import { el } from "../feed/text.js";

export const REPORTS_URL = "/api/v1/reports";
const POLICIES_URL = "/api/v1/moderation/policies";

let dialog = null;
let policies = null; // [{slug, name, guideline_url}], loaded once
let current = null; // the open report: {targetType, targetId, noun, reportsUrl, opener, onReported}

function build() {
  dialog = el("dialog", { class: "drawer sheet report-dialog", id: "report-dialog", "aria-labelledby": "report-title" });
  const close = el("button", { type: "button", class: "icon-button close", "aria-label": "Close report", text: "×" });
  const form = el("form", { class: "report-form", novalidate: true },
    el("fieldset", {}, el("legend", { class: "report-legend" }), el("div", { class: "report-reasons" })),
    el("button", { type: "submit", class: "send-report", text: "Send report" }));
  const done = el("button", { type: "button", class: "button secondary report-done", text: "Done" });
  dialog.append(
    el("header", { class: "drawer-head" }, el("h2", { id: "report-title" }), close),
    form,
    el("p", { class: "sheet-status", role: "status", "aria-live": "polite" }),
    el("p", { class: "report-after", hidden: true }, done));
  close.addEventListener("click", () => dialog.close());
  done.addEventListener("click", () => dialog.close());
  dialog.addEventListener("click", (event) => { if (event.target === dialog) dialog.close(); });
  dialog.addEventListener("close", () => {
    const opener = current && current.opener;
    current = null;
    if (opener && opener.isConnected) opener.focus({ preventScroll: true });
  });
  form.addEventListener("submit", (event) => { event.preventDefault(); send(form); });
  document.body.append(dialog);
}

function status(text, isError = false) {
  const line = dialog.querySelector(".sheet-status");
  line.textContent = text;
  line.classList.toggle("form-error", isError);
}

async function loadReasons(form) {
  const box = form.querySelector(".report-reasons");
  if (!policies) {
    box.replaceChildren(el("p", { class: "muted", text: "Loading the reasons…" }));
    try {
      policies = await get(POLICIES_URL);
    } catch {
      box.replaceChildren();
      status("The reasons could not load. Close this and try again.", true);
      return;
    }
  }
  box.replaceChildren(...policies.map(({ slug, name, guideline_url: rule }, i) =>
    el("label", { class: "radio" },
      el("input", { type: "radio", name: "policy", value: slug, required: i === 0 }),
      el("span", {}, `${name} `,
        rule ? el("a", { href: rule, target: "_blank", rel: "noopener", class: "rule-link", text: "(rules)" }) : null))));
}

/**
 * Open the dialog for one target. targetType: post | comment | user | sound; noun: what the
 * words call it ("video", "comment", "account"); opener: the button to focus afterwards;
 * onReported(): after the report was accepted; bodyFor(policy): the request body, for a
 * surface with its own endpoint (reportsUrl).
 */
export async function openReport({ targetType, targetId, noun, reportsUrl = REPORTS_URL, opener = null, onReported = null, bodyFor = null }) {
  if (!dialog) build();
  current = { targetType, targetId: String(targetId), noun, reportsUrl: reportsUrl || REPORTS_URL, opener, onReported, bodyFor };
  const form = dialog.querySelector(".report-form");
  dialog.querySelector("#report-title").textContent = `Report this ${noun}`;
  form.querySelector(".report-legend").textContent = `Why are you reporting this ${noun}?`;
  form.hidden = false;
  form.querySelector(".send-report").disabled = false;
  dialog.querySelector(".report-after").hidden = true;
  status("");
  if (!dialog.open) dialog.showModal();
  await loadReasons(form);
  form.querySelector("input")?.focus();
}

async function send(form) {
  const report = current;
  if (!report) return;
  const policy = form.elements.policy && form.elements.policy.value;
  if (!policy) { status("Choose a reason first.", true); return; }
  const button = form.querySelector(".send-report");
  button.disabled = true;
  let sends = 0;
  try {
    await retrying(() => {
      sends += 1;
      // a surface with its own report endpoint (a conversation's messages) shapes its body
      return post(report.reportsUrl, report.bodyFor ? report.bodyFor(policy)
        : { target_type: report.targetType, target_id: report.targetId, policy });
    });
  } catch (e) {
    // A person has one open report per target, so a retry cannot file a second one; when an
    // earlier send committed but its answer was lost (a 503 in a database restart), the
    // retry's "already reported" means this report went through.
    const landed = sends > 1 && e instanceof ApiError && e.code === "already_reported";
    if (!landed) {
      button.disabled = false;
      status(e instanceof ApiError ? e.message : "The report could not be sent. Try again.", true);
      return;
    }
  }
  form.hidden = true;
  status(`Thanks for telling us. We will review this ${report.noun}.`);
  dialog.querySelector(".report-after").hidden = false;
  dialog.querySelector(".report-done").focus();
  if (report.onReported) report.onReported();
}
