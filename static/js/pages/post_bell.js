// The bell on a followed creator's profile (templates/web/partials/post_bell.html): a
// disclosure with a radio group (all / personalised / off). A choice is saved through the
// API as soon as it is made; a refusal puts the previous choice back and says why. Escape
// or a click elsewhere closes the menu (focus back on the bell).
import { api } from "../lib/api.js";

const LABELS = { all: "All", personalised: "Personalised", off: "Off" };
const SAID = {
  all: (name) => `You'll be told about every new video from @${name}.`,
  personalised: (name) => `You'll be told about @${name}'s new videos, grouped.`,
  off: (name) => `No more notifications about @${name}'s new videos.`,
};

function init(bell) {
  const form = bell.querySelector("[data-post-bell-form]");
  const toggle = bell.querySelector("summary");
  const label = bell.querySelector("[data-post-bell-label]");
  const status = bell.querySelector("[data-post-bell-status]");
  const name = bell.dataset.username;
  let saved = form.elements.level.value;

  const show = (level) => {
    toggle.dataset.level = level;
    label.textContent = LABELS[level];
  };

  form.addEventListener("submit", (event) => event.preventDefault());
  form.addEventListener("change", async (event) => {
    const level = event.target.value;
    if (!(level in LABELS)) return;
    form.setAttribute("aria-busy", "true");
    status.textContent = "Saving…";
    try {
      const answer = await api("PUT", bell.dataset.url, { level });
      saved = answer.level;
      show(saved);
      status.textContent = SAID[saved](name);
    } catch (error) {
      form.elements.level.value = saved;
      status.textContent = error.message || "Something went wrong. Try again.";
    } finally {
      form.removeAttribute("aria-busy");
    }
  });

  // The menu opens under the bell, moved left as far as it must to stay on screen (the
  // bell may sit near a phone's right edge).
  bell.addEventListener("toggle", () => {
    if (!bell.open) return;
    form.style.left = "0px";
    const margin = 16;
    const rect = form.getBoundingClientRect();
    const over = rect.right - (document.documentElement.clientWidth - margin);
    if (over > 0) form.style.left = `${-Math.min(over, rect.left - margin)}px`;
  });

  bell.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && bell.open) {
      bell.open = false;
      toggle.focus();
    }
  });
  document.addEventListener("click", (event) => {
    if (bell.open && !bell.contains(event.target)) bell.open = false;
  });
}

document.querySelectorAll("[data-post-bell]").forEach(init);
