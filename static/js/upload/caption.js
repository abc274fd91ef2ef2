// Caption editor suggestions: typing #ta or @jo offers hashtags / people from the suggest
// endpoints in an ARIA combobox listbox (↑ ↓ move, Enter or Tab insert, Escape closes).
import { get } from "../lib/api.js";

const TOKEN = /(^|[\s(])([#@])([\p{L}\p{N}_.]{0,100})$/u;

export function attachSuggestions(textarea, listbox, { hashtagsUrl, usersUrl, onChange }) {
  let items = [];
  let active = -1;
  let token = null; // {sigil, text, start, end}
  let timer = null;
  let inflight = null;

  const close = () => {
    items = [];
    active = -1;
    listbox.hidden = true;
    listbox.replaceChildren();
    // A textarea is a textbox, which takes no aria-expanded (axe: aria-allowed-attr, and it
    // may not be a combobox); aria-controls and aria-activedescendant tell the listbox.
    textarea.removeAttribute("aria-activedescendant");
  };

  const highlight = (index) => {
    active = index;
    [...listbox.children].forEach((li, i) => li.setAttribute("aria-selected", String(i === index)));
    if (index >= 0) textarea.setAttribute("aria-activedescendant", listbox.children[index].id);
    else textarea.removeAttribute("aria-activedescendant");
  };

  const insert = (index) => {
    const item = items[index];
    if (!item || !token) return;
    const value = textarea.value;
    const word = token.sigil === "#" ? `#${item.name}` : `@${item.username}`;
    textarea.value = `${value.slice(0, token.start)}${word} ${value.slice(token.end)}`;
    const caret = token.start + word.length + 1;
    textarea.setSelectionRange(caret, caret);
    close();
    textarea.focus();
    onChange?.();
  };

  const render = () => {
    listbox.replaceChildren();
    items.forEach((item, i) => {
      const li = document.createElement("li");
      li.id = `${listbox.id}-${i}`;
      li.setAttribute("role", "option");
      li.setAttribute("aria-selected", "false");
      if (token.sigil === "#") {
        li.innerHTML = `<span class="sugg-main"></span><span class="muted"></span>`;
        li.children[0].textContent = `#${item.name}`;
        li.children[1].textContent = `${item.posts_count} video${item.posts_count === 1 ? "" : "s"}`;
      } else {
        li.innerHTML = `<span class="sugg-main"></span><span class="muted"></span>`;
        li.children[0].textContent = item.display_name || item.username;
        li.children[1].textContent = `@${item.username}`;
      }
      // mousedown, not click: the textarea must keep focus (and its caret).
      li.addEventListener("mousedown", (event) => { event.preventDefault(); insert(i); });
      listbox.append(li);
    });
    listbox.hidden = items.length === 0;
    highlight(items.length ? 0 : -1);
  };

  const lookup = () => {
    const caret = textarea.selectionStart;
    if (caret !== textarea.selectionEnd) { close(); return; }
    const match = TOKEN.exec(textarea.value.slice(0, caret));
    if (!match || match[3].length === 0) { close(); return; }
    token = { sigil: match[2], text: match[3], start: caret - match[3].length - 1, end: caret };
    const url = `${token.sigil === "#" ? hashtagsUrl : usersUrl}?q=${encodeURIComponent(token.text)}`;
    inflight?.abort();
    inflight = new AbortController();
    const mine = token;
    get(url, { signal: inflight.signal }).then((data) => {
      if (mine !== token) return;
      items = (data && data.results) || [];
      render();
    }).catch(() => { /* aborted or throttled: no suggestions this time */ });
  };

  textarea.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(lookup, 150);
  });
  textarea.addEventListener("keydown", (event) => {
    if (listbox.hidden || !items.length) return;
    if (event.key === "ArrowDown") { event.preventDefault(); highlight((active + 1) % items.length); }
    else if (event.key === "ArrowUp") { event.preventDefault(); highlight((active - 1 + items.length) % items.length); }
    else if (event.key === "Enter" || event.key === "Tab") { event.preventDefault(); insert(active < 0 ? 0 : active); }
    else if (event.key === "Escape") { event.preventDefault(); close(); }
  });
  textarea.addEventListener("blur", () => setTimeout(close, 100));
}
