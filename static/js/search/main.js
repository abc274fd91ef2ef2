// The search page (/search): one box with tabs (Top, Accounts, Videos, Sounds, Hashtags).
// - Empty box: recent searches (signed in; remove one, clear all) and trending searches and
//   hashtags.
// - Typing: after a short pause (DEBOUNCE_MS) the box asks for completions and for the
//   current tab's results in prefix mode, shown as a listbox the box controls (ARIA
//   combobox: arrow keys move through it, Enter opens the chosen one). Only the newest
//   request's answer is shown: each new one aborts the previous and a sequence number
//   drops any answer that still arrives late.
// - Enter: the full results (mode=full; the server records the search in the history),
//   in the URL (back/forward work), more on scrolling (next_cursor), a "search" event;
//   opening a result sends "search_click" with its position.
// - A blocked term shows the safety notice instead of results; no result and a failure
//   are said in words.
// The page works without this module: the form is a GET form and the server renders the
// first page of full results.
import { ApiError, del, get, retrying } from "../lib/api.js";
import { Telemetry } from "../lib/events.js";
import { el } from "../feed/text.js";
import { appendResults, icon, noticeNode, resultRow, searchUrl } from "./render.js";

const DEBOUNCE_MS = 150;
const PREFIX_LIMIT = 8;
const COMPLETIONS = 4;
const TABS = ["top", "accounts", "videos", "sounds", "live", "hashtags"];
const NOUNS = { top: "results", accounts: "accounts", videos: "videos", sounds: "sounds", live: "lives on air", hashtags: "hashtags" };

const root = document.getElementById("search");
const form = root.querySelector("form.search-form");
const input = document.getElementById("search-input");
const clearButton = root.querySelector("[data-search-clear]");
const tabInput = form.querySelector('input[name="tab"]');
const tablist = root.querySelector('[role="tablist"]');
const panel = document.getElementById("search-panel");
const listbox = document.getElementById("search-listbox");
const body = document.getElementById("search-body"); // results, a notice, the empty state
const idle = document.getElementById("search-idle");
const statusLine = document.getElementById("search-status");
const signedIn = root.dataset.signedIn === "1";

const telemetry = new Telemetry();
const state = {
  q: root.dataset.query || "",
  tab: TABS.includes(root.dataset.tab) ? root.dataset.tab : "top",
  mode: root.dataset.query ? "results" : "idle",   // idle | typing | results
  searchId: root.dataset.searchId || "",
  cursor: root.dataset.nextCursor || "",
  count: body.querySelectorAll("a[data-result-type]").length,
};
let seq = 0;            // the newest request; older answers are dropped
let inflight = null;    // its AbortController
let timer = null;
let moreObserver = null;

// Visible to the browser tests.
window.swipemeSearch = { state, telemetry, get seq() { return seq; } };

function announce(text) { statusLine.textContent = text; }

const isAbort = (error) => error && error.name === "AbortError";

function explain(error) {
  if (error instanceof ApiError && error.status === 429) {
    return "You're searching very fast. Wait a moment, then try again.";
  }
  if (error instanceof ApiError && error.status === 400 && error.message) return error.message;
  if (!navigator.onLine) return "You're offline. Check your connection, then try again.";
  return "Search isn't working right now. Try again in a moment.";
}

/** Starts a request that replaces every earlier one; resolves to null if it was overtaken. */
async function latest(load) {
  if (inflight) inflight.abort();
  const controller = new AbortController();
  inflight = controller;
  const mine = ++seq;
  try {
    const data = await load(controller.signal);
    return mine === seq ? data : null;
  } catch (error) {
    if (isAbort(error) || mine !== seq) return null;
    throw error;
  } finally {
    if (inflight === controller) inflight = null;
  }
}

function apiUrl(q, tab, mode, cursor) {
  const params = new URLSearchParams({ q, tab, mode });
  if (mode === "prefix") params.set("limit", String(PREFIX_LIMIT));
  if (cursor) params.set("cursor", cursor);
  return `/api/v1/search?${params}`;
}

// --- the combobox's listbox (as you type) --------------------------------------------------

function options() { return [...listbox.querySelectorAll('[role="option"]')]; }

function setActive(index) {
  const all = options();
  all.forEach((o, i) => o.setAttribute("aria-selected", i === index ? "true" : "false"));
  const chosen = all[index];
  if (chosen) {
    input.setAttribute("aria-activedescendant", chosen.id);
    chosen.scrollIntoView({ block: "nearest" });
  } else {
    input.removeAttribute("aria-activedescendant");
  }
}

function activeIndex() {
  return options().findIndex((o) => o.getAttribute("aria-selected") === "true");
}

function setExpanded(open) {
  input.setAttribute("aria-expanded", open ? "true" : "false");
  if (!open) input.removeAttribute("aria-activedescendant");
}

function asOption(node, id) {
  node.setAttribute("role", "option");
  node.setAttribute("aria-selected", "false");
  node.setAttribute("tabindex", "-1"); // focus stays in the box; arrows move the choice
  node.id = id;
  return node;
}

function group(label, id, nodes) {
  return el("div", { role: "group", "aria-labelledby": id, class: "listbox-group" },
    el("p", { id, class: "listbox-label", text: label }), ...nodes);
}

function renderTyping(q, completions, answer) {
  listbox.replaceChildren();
  body.replaceChildren();
  panel.removeAttribute("aria-busy");
  if (answer.notice) {
    setExpanded(false);
    listbox.hidden = true;
    body.append(noticeNode(answer.notice));
    announce(answer.notice.title || "A safety notice is shown instead of results.");
    return;
  }
  const lower = q.trim().toLocaleLowerCase();
  const queries = completions.filter((c) => c.query && c.query.toLocaleLowerCase() !== lower)
    .slice(0, COMPLETIONS);
  const groups = [];
  if (queries.length) {
    groups.push(group("Search for", "listbox-queries", queries.map((c, i) => asOption(
      el("a", { class: "result result-query", href: searchUrl(c.query, state.tab) },
        el("span", { class: "result-icon" }, icon(c.kind === "trending" ? "trending" : "search", 20)),
        el("span", { class: "result-text" }, el("span", { class: "result-title", dir: "auto", text: c.query }))),
      `search-option-q${i}`))));
  }
  const results = answer.results || [];
  if (results.length) {
    groups.push(group(state.tab === "top" ? "Top results" : `Matching ${NOUNS[state.tab]}`, "listbox-results",
      results.map((item, i) => asOption(resultRow(item, i), `search-option-r${i}`))));
  }
  state.searchId = answer.search_id || "";
  listbox.append(...groups);
  listbox.hidden = !groups.length;
  setExpanded(groups.length > 0);
  if (!results.length) {
    body.append(el("p", { class: "empty search-empty" },
      `No ${NOUNS[state.tab]} start with “`, el("bdi", { text: q.trim() }), "” yet. Press Enter to search everything."));
  }
  announce(results.length ? `${results.length} ${NOUNS[state.tab]} as you type` : `No ${NOUNS[state.tab]} yet`);
}

async function asYouType(q) {
  state.mode = "typing";
  showTabs(true);
  panel.setAttribute("aria-busy", "true");
  let answer;
  let completions;
  try {
    [answer, completions] = await latest((signal) => Promise.all([
      get(apiUrl(q, state.tab, "prefix"), { signal }),
      get(`/api/v1/search/suggestions?${new URLSearchParams({ q })}`, { signal })
        .then((d) => (d && d.results) || []).catch((e) => { if (isAbort(e)) throw e; return []; }),
    ])) || [];
  } catch (error) {
    showError(error, () => asYouType(q));
    return;
  }
  if (!answer || state.mode !== "typing") return; // overtaken (a newer keystroke, Enter)
  renderTyping(q, completions, answer);
}

// --- full results ---------------------------------------------------------------------------

function showTabs(visible) {
  tablist.hidden = !visible;
  for (const tab of tablist.querySelectorAll('[role="tab"]')) {
    const on = tab.dataset.tab === state.tab;
    tab.setAttribute("aria-selected", on ? "true" : "false");
    tab.tabIndex = on ? 0 : -1;
    tab.href = searchUrl(state.q || input.value, tab.dataset.tab);
    if (on) panel.setAttribute("aria-labelledby", tab.id);
  }
  tabInput.value = state.tab;
  tabInput.disabled = state.tab === "top";
}

function showError(error, retry) {
  panel.removeAttribute("aria-busy");
  setExpanded(false);
  listbox.hidden = true;
  const button = el("button", { type: "button", class: "button secondary", text: "Try again" });
  button.addEventListener("click", retry);
  body.replaceChildren(el("div", { class: "search-error", role: "alert" },
    el("p", { text: explain(error) }), button));
}

function emptyState(q) {
  const what = state.tab === "top" ? "anything" : NOUNS[state.tab];
  return el("div", { class: "empty search-empty" },
    el("h2", {}, "No results for “", el("bdi", { text: q }), "”"),
    el("p", { text: `We couldn't find ${what} matching your search. Check the spelling or try fewer or other words.` }));
}

function watchForMore() {
  if (moreObserver) moreObserver.disconnect();
  const more = body.querySelector("[data-more]");
  if (!more) return;
  more.addEventListener("click", (event) => { event.preventDefault(); loadMore(); });
  if ("IntersectionObserver" in window) {
    moreObserver = new IntersectionObserver((entries) => {
      if (entries.some((e) => e.isIntersecting)) loadMore();
    }, { rootMargin: "400px 0px" });
    moreObserver.observe(more);
  }
}

function moreLink() {
  const params = new URLSearchParams({ q: state.q, tab: state.tab, cursor: state.cursor });
  return el("p", { class: "more" },
    el("a", { class: "button secondary", href: `/search?${params}`, "data-more": "", text: "More results" }));
}

function renderResults(answer) {
  panel.removeAttribute("aria-busy");
  setExpanded(false);
  listbox.hidden = true;
  body.replaceChildren();
  state.searchId = answer.search_id || "";
  state.cursor = answer.next_cursor || "";
  const results = answer.results || [];
  state.count = results.length;
  if (answer.notice) {
    body.append(noticeNode(answer.notice));
    announce(answer.notice.title || "A safety notice is shown instead of results.");
    return;
  }
  if (!results.length) {
    body.append(emptyState(state.q));
    announce(`No results for ${state.q}`);
  } else {
    const list = el("div", { class: "search-results", "data-search-id": state.searchId });
    appendResults(list, results, 0);
    body.append(list);
    if (state.cursor) body.append(moreLink());
    announce(`${results.length}${state.cursor ? " or more" : ""} ${NOUNS[state.tab]} for ${state.q}`);
  }
  watchForMore();
}

function sendSearchEvent() {
  if (!state.searchId) return;
  telemetry.track("search", null, { search_id: state.searchId, query: state.q.slice(0, 200),
                                    tab: state.tab, result_count: state.count });
}

async function fullSearch(q, { push = true } = {}) {
  clearTimeout(timer);
  state.q = q.trim();
  state.mode = "results";
  state.cursor = "";
  if (input.value.trim() !== state.q) input.value = state.q;
  const url = searchUrl(state.q, state.tab);
  if (push && `${location.pathname}${location.search}` !== url) history.pushState({}, "", url);
  document.title = `${state.q} · Search · SwipeMe`;
  idle.hidden = true;
  showTabs(true);
  setExpanded(false);
  listbox.hidden = true;
  panel.setAttribute("aria-busy", "true");
  let answer;
  try {
    answer = await latest((signal) => retrying(() => get(apiUrl(state.q, state.tab, "full"), { signal }),
                                               { attempts: 3 }));
  } catch (error) {
    showError(error, () => fullSearch(state.q, { push: false }));
    return;
  }
  if (!answer || state.mode !== "results") return;
  renderResults(answer);
  sendSearchEvent();
}

let loadingMore = false;
async function loadMore() {
  if (loadingMore || !state.cursor || state.mode !== "results") return;
  loadingMore = true;
  const mine = seq;
  const more = body.querySelector("[data-more]");
  if (more) { more.setAttribute("aria-busy", "true"); more.textContent = "Loading…"; }
  let answer;
  try {
    answer = await retrying(() => get(apiUrl(state.q, state.tab, "full", state.cursor)), { attempts: 3 });
  } catch (error) {
    if (more) { more.removeAttribute("aria-busy"); more.textContent = "More results"; }
    announce(explain(error));
    loadingMore = false;
    return;
  }
  loadingMore = false;
  if (mine !== seq || state.mode !== "results") return; // a new search started meanwhile
  const list = body.querySelector(".search-results");
  const results = answer.results || [];
  if (list) appendResults(list, results, state.count);
  state.count += results.length;
  state.cursor = answer.next_cursor || "";
  if (more) more.closest(".more").remove();
  if (state.cursor) body.append(moreLink());
  announce(`${results.length} more ${NOUNS[state.tab]}`);
  watchForMore();
}

// --- the empty box: recent and trending searches --------------------------------------------

function queryLink(query, extra = {}) {
  return el("a", { href: searchUrl(query, "top"), class: "query-link", ...extra },
    el("span", { dir: "auto", text: query }));
}

function renderHistory(entries) {
  const section = document.getElementById("search-recent");
  section.replaceChildren();
  section.hidden = !entries.length;
  if (!entries.length) return;
  const clearAll = el("button", { type: "button", class: "link", "data-history-clear": "", text: "Clear all" });
  const list = el("ul", { class: "recent-list", role: "list" }, ...entries.map((entry) => {
    const remove = el("button", { type: "button", class: "icon-button", "data-history-delete": entry.id,
                                  "aria-label": `Remove “${entry.query}” from recent searches`, text: "×" });
    return el("li", { "data-row": "" }, el("span", { class: "recent-icon", "aria-hidden": "true" }, icon("search", 16)),
      queryLink(entry.query), remove);
  }));
  section.append(el("div", { class: "section-head" },
    el("h2", { id: "search-recent-title", text: "Recent searches" }), clearAll), list);
}

function renderTrending(data) {
  const section = document.getElementById("search-trending");
  section.replaceChildren();
  const searches = (data && data.searches) || [];
  const hashtags = (data && data.hashtags) || [];
  if (!searches.length && !hashtags.length) {
    section.append(el("p", { class: "empty", text: "Search for accounts, videos, sounds and hashtags." }));
    return;
  }
  if (searches.length) {
    section.append(el("h2", { text: "Trending searches" }),
      el("ol", { class: "trending-list" }, ...searches.map((s) => el("li", {}, queryLink(s.query)))));
  }
  if (hashtags.length) {
    section.append(el("h2", { text: "Trending hashtags" }),
      el("ul", { class: "chip-list" }, ...hashtags.map((h) => el("li", {},
        el("a", { class: "chip", href: h.url, dir: "auto", text: `#${h.name}` })))));
  }
}

async function showIdle() {
  clearTimeout(timer);
  if (inflight) inflight.abort();
  seq++;
  state.mode = "idle";
  state.q = "";
  setExpanded(false);
  listbox.hidden = true;
  body.replaceChildren();
  panel.removeAttribute("aria-busy");
  showTabs(false);
  idle.hidden = false;
  const [history, trending] = await Promise.all([
    signedIn ? get("/api/v1/search/history").catch(() => null) : Promise.resolve(null),
    get("/api/v1/search/trending").catch(() => null),
  ]);
  if (state.mode !== "idle") return;
  renderHistory((history && history.results) || []);
  renderTrending(trending);
}

async function deleteHistory(button) {
  const all = button.hasAttribute("data-history-clear");
  button.disabled = true;
  try {
    await retrying(() => del(all ? "/api/v1/search/history"
      : `/api/v1/search/history/${encodeURIComponent(button.dataset.historyDelete)}`));
  } catch (error) {
    button.disabled = false;
    announce(error.status === 404 ? "That search was already removed." : explain(error));
    if (!(error instanceof ApiError && error.status === 404)) return;
  }
  const section = document.getElementById("search-recent");
  if (all) {
    renderHistory([]);
    announce("Recent searches cleared");
    input.focus();
    return;
  }
  const row = button.closest("[data-row]");
  const next = row.nextElementSibling || row.previousElementSibling;
  row.remove();
  announce("Removed from recent searches");
  if (!section.querySelector("[data-row]")) { renderHistory([]); input.focus(); return; }
  const target = next && next.querySelector("button");
  if (target) target.focus();
}

// --- events ---------------------------------------------------------------------------------

input.addEventListener("input", () => {
  const q = input.value;
  clearButton.hidden = !q;
  clearTimeout(timer);
  if (!q.trim()) { showIdle(); return; }
  idle.hidden = true;
  state.q = q.trim();
  state.mode = "typing";
  timer = setTimeout(() => asYouType(q), DEBOUNCE_MS);
});

input.addEventListener("keydown", (event) => {
  const count = options().length;
  const open = input.getAttribute("aria-expanded") === "true";
  if (event.key === "ArrowDown" && open && count) {
    event.preventDefault();
    setActive((activeIndex() + 1) % count);
  } else if (event.key === "ArrowUp" && open && count) {
    event.preventDefault();
    const at = activeIndex();
    setActive(at <= 0 ? count - 1 : at - 1);
  } else if (event.key === "Escape" && open) {
    event.preventDefault(); // closes the list; a second Escape clears the box (type=search)
    setActive(-1);
    setExpanded(false);
    listbox.hidden = true;
  } else if (event.key === "Enter" && open && activeIndex() >= 0) {
    event.preventDefault();
    options()[activeIndex()].click();
  }
});

form.addEventListener("submit", (event) => {
  event.preventDefault();
  const q = input.value.trim();
  if (!q) { input.focus(); return; }
  fullSearch(q);
});

clearButton.addEventListener("click", () => {
  input.value = "";
  clearButton.hidden = true;
  input.focus();
  if (location.search) history.pushState({}, "", "/search");
  document.title = "Search · SwipeMe";
  showIdle();
});

function selectTab(tab, { focus = false } = {}) {
  if (!TABS.includes(tab)) return;
  state.tab = tab;
  showTabs(true);
  if (focus) tablist.querySelector(`[data-tab="${tab}"]`).focus();
  const q = input.value.trim();
  if (!q) return;
  if (state.mode === "typing") asYouType(q);
  else fullSearch(q);
}

tablist.addEventListener("click", (event) => {
  const tab = event.target.closest('[role="tab"]');
  if (!tab || event.metaKey || event.ctrlKey || event.shiftKey) return;
  event.preventDefault();
  selectTab(tab.dataset.tab);
});

tablist.addEventListener("keydown", (event) => {
  const at = TABS.indexOf(state.tab);
  const to = { ArrowRight: at + 1, ArrowLeft: at - 1, Home: 0, End: TABS.length - 1 }[event.key];
  if (to === undefined) return;
  event.preventDefault();
  selectTab(TABS[(to + TABS.length) % TABS.length], { focus: true });
});

root.addEventListener("click", (event) => {
  const button = event.target.closest("[data-history-delete], [data-history-clear]");
  if (button) { deleteHistory(button); return; }
  const result = event.target.closest("a[data-result-type]");
  if (result && state.searchId) {
    const type = result.dataset.resultType;
    telemetry.track("search_click", type === "video" ? result.dataset.resultId : null, {
      search_id: state.searchId, tab: state.tab, position: Math.min(999, Number(result.dataset.position) || 0),
      result_type: type, result_id: result.dataset.resultId,
    });
    telemetry.flush(); // now (a keepalive request): opening the result leaves the page
  }
});

window.addEventListener("popstate", () => {
  const params = new URLSearchParams(location.search);
  const q = (params.get("q") || "").trim();
  state.tab = TABS.includes(params.get("tab")) ? params.get("tab") : "top";
  input.value = q;
  clearButton.hidden = !q;
  if (q) fullSearch(q, { push: false });
  else showIdle();
});

// --- start ----------------------------------------------------------------------------------

clearButton.hidden = !input.value;
if (state.mode === "results") {
  showTabs(true);
  watchForMore();
  // the server rendered this search (a later page of it, from the no-script More link, is not a new one)
  if (!new URLSearchParams(location.search).has("cursor")) sendSearchEvent();
} else {
  showIdle();
  if (root.dataset.autofocus === "1") input.focus();
}
