// The host's (and moderators') sheet on the player page: chat settings (slow mode,
// followers-only, links), the host's moderators (add by username, remove) and ending the
// live (then the end screen with the stats).
import { api, ApiError, del, get, post } from "../lib/api.js";
import { el } from "../feed/text.js";
import { urls } from "./urls.js";

export function setupHostControls(page) {
  const sheet = page.querySelector("[data-host-sheet]");
  const opener = page.querySelector("[data-host-open]");
  if (!sheet || !opener) return;
  const id = page.dataset.liveId;
  const isHost = page.dataset.isHost === "1";
  const status = (text, isError = false) => {
    const line = sheet.querySelector("[data-host-status]");
    line.textContent = text;
    line.classList.toggle("form-error", isError);
  };
  const words = (error) => (error instanceof ApiError ? error.message : "That didn't work. Check your connection and try again.");

  const slow = sheet.querySelector("[data-slow-mode]");
  const followersOnly = sheet.querySelector("[data-followers-only]");
  const links = sheet.querySelector("[data-links-allowed]");
  async function saveSettings(body, said) {
    try {
      await api("PATCH", urls.settings(id), body);
      status(said);
    } catch (error) {
      status(words(error), true);
    }
  }
  slow.addEventListener("change", () => {
    const seconds = Number(slow.value);
    saveSettings({ slow_mode_seconds: seconds }, seconds ? `Slow mode: one message every ${seconds} s.` : "Slow mode is off.");
  });
  followersOnly.addEventListener("change", () => saveSettings({ followers_only: followersOnly.checked },
    followersOnly.checked ? "Only followers can chat now." : "Everyone watching can chat now."));
  links.addEventListener("change", () => saveSettings({ links_allowed: links.checked },
    links.checked ? "Links are allowed in chat." : "Links are blocked in chat."));
  page.addEventListener("live:settings", (event) => {
    const s = event.detail || {};
    if ("slow_mode_seconds" in s) slow.value = String(s.slow_mode_seconds);
    if ("followers_only" in s) followersOnly.checked = Boolean(s.followers_only);
    if ("links_allowed" in s) links.checked = Boolean(s.links_allowed);
  });

  const modList = sheet.querySelector("[data-mod-list]");
  const showMods = (mods) => {
    modList.replaceChildren(...mods.map((mod) => {
      const name = mod.username;
      const remove = el("button", { type: "button", class: "button small ghost", "aria-label": `Remove @${name} as a moderator`, text: "Remove" });
      remove.addEventListener("click", async () => {
        try {
          await del(urls.moderator(mod.id));
          status(`@${name} is no longer a moderator.`);
          loadMods();
        } catch (error) { status(words(error), true); }
      });
      return el("li", {}, el("span", { text: `@${name}` }), remove);
    }));
    if (!mods.length) modList.replaceChildren(el("li", { class: "muted", text: "No moderators yet." }));
  };
  async function loadMods() {
    if (!modList) return;
    try {
      const mods = await get(urls.moderators);
      showMods(Array.isArray(mods) ? mods : (mods.results || []));
    } catch (error) { status(words(error), true); }
  }
  const modForm = sheet.querySelector("[data-mod-form]");
  if (modForm) {
    modForm.addEventListener("submit", async (event) => {
      event.preventDefault();
      const input = modForm.querySelector("[data-mod-name]");
      const name = input.value.trim().replace(/^@/, "");
      if (!name) { status("Type the username of someone to moderate your chat.", true); return; }
      try {
        await post(urls.moderators, { username: name });
        input.value = "";
        status(`@${name} moderates your lives' chat now.`);
        loadMods();
      } catch (error) { status(words(error), true); }
    });
  }

  const end = sheet.querySelector("[data-end-live]");
  if (end) {
    end.addEventListener("click", async () => {
      if (!window.confirm("End your live now? Everyone watching sees that it ended.")) return;
      end.disabled = true;
      try {
        await post(urls.end(id), {});
        location.href = `/studio/live/${encodeURIComponent(id)}`;
      } catch (error) {
        status(words(error), true);
        end.disabled = false;
      }
    });
  }

  opener.addEventListener("click", () => {
    sheet.showModal();
    status("");
    if (isHost) loadMods();
  });
  sheet.querySelector("[data-host-close]").addEventListener("click", () => sheet.close());
  sheet.addEventListener("click", (event) => { if (event.target === sheet) sheet.close(); });
  sheet.addEventListener("close", () => opener.focus({ preventScroll: true }));
}
