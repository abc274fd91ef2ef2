// The creator analytics page (/studio/analytics): the server renders every number; this
// draws its charts with uPlot from the page's JSON (#analytics-data): views per day,
// followers gained and lost per day (bars), and the chosen post's retention per second.
// Each chart redraws at its container's width, and marks itself data-ready with the
// number of points it drew (the browser tests read it). Country codes become names.
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";

const data = JSON.parse(document.getElementById("analytics-data").textContent);
const css = getComputedStyle(document.documentElement);
const colour = (name, fallback) => css.getPropertyValue(name).trim() || fallback;
const FG = colour("--muted", "#9a9aa6");
const GRID = colour("--border", "#2a2a35");
const ACCENT = colour("--accent", "#fe2c55");
const CYAN = colour("--accent-2", "#25f4ee");
const GREEN = "#3ddc84";

const axis = (extra = {}) => ({ stroke: FG, grid: { stroke: GRID, width: 1 }, ticks: { stroke: GRID }, ...extra });
const utc = (ts) => uPlot.tzDate(new Date(ts * 1e3), "Etc/UTC");
const wholeNumbers = (u, splits) => splits.map((v) => (Number.isInteger(v) ? String(v) : ""));
const height = () => (window.innerWidth < 600 ? 180 : 240);
// daily data: ticks on whole days only (never "12pm"), labelled "29 Nov" like the page
const DAY = 86400;
const dayLabel = new Intl.DateTimeFormat("en-GB", { day: "numeric", month: "short", timeZone: "UTC" });
const dayAxis = () => axis({
  incrs: [DAY, 2 * DAY, 7 * DAY, 14 * DAY],
  space: 56,
  values: (u, splits) => splits.map((ts) => dayLabel.format(new Date(ts * 1e3))),
});

function draw(node, options, series) {
  const plot = new uPlot({ ...options, width: Math.max(node.clientWidth, 200), height: height() }, series, node);
  node.dataset.ready = "true";
  node.dataset.points = String(series[0].length);
  new ResizeObserver(() => plot.setSize({ width: Math.max(node.clientWidth, 200), height: height() })).observe(node);
  return plot;
}

function viewsChart(node) {
  draw(node, {
    tzDate: utc,
    legend: { show: false },
    cursor: { drag: { x: false, y: false } },
    scales: { x: { time: true }, y: { range: (u, min, max) => [0, Math.max(1, max)] } },
    axes: [dayAxis(), axis({ values: wholeNumbers, size: 44 })],
    series: [{}, { label: "Views", stroke: CYAN, width: 2, fill: "rgba(37, 244, 238, .12)", points: { show: data.days.length <= 7 } }],
  }, [data.days, data.views]);
}

function followersChart(node) {
  // gained above the axis, lost below it: one bar per day each, never overlapping
  const bars = uPlot.paths.bars({ size: [0.6, 28], align: 0 });
  const day = DAY;
  // a day without any draws no bar (a zero-height bar would still show its outline)
  const gained = data.gained.map((n) => n || null);
  const lost = data.lost.map((n) => (n ? -n : null));
  draw(node, {
    tzDate: utc,
    legend: { show: true, live: false },
    cursor: { drag: { x: false, y: false } },
    scales: { x: { time: true, range: (u, min, max) => [min - day / 2, max + day / 2] },
      y: { range: (u, min, max) => [Math.min(-1, min), Math.max(1, max)] } },
    axes: [dayAxis(), axis({ values: (u, splits) => splits.map((v) => (Number.isInteger(v) ? String(Math.abs(v)) : "")), size: 44 })],
    series: [{},
      { label: "Gained", stroke: GREEN, fill: GREEN, paths: bars, points: { show: false } },
      { label: "Lost", stroke: ACCENT, fill: ACCENT, paths: bars, points: { show: false } }],
  }, [data.days, gained, lost]);
}

function retentionChart(node) {
  const r = data.retention;
  draw(node, {
    legend: { show: false },
    cursor: { drag: { x: false, y: false } },
    scales: { x: { time: false }, y: { range: [0, 100] } },
    axes: [
      axis({ incrs: [1, 2, 5, 10, 15, 30, 60, 120, 300], values: (u, splits) => splits.map((s) => `${s} s`) }),
      axis({ values: (u, splits) => splits.map((v) => `${v} %`), size: 52 }),
    ],
    series: [{ label: "Second" }, { label: "Still watching", stroke: ACCENT, width: 2, fill: "rgba(254, 44, 85, .15)",
      value: (u, v, si, i) => (v == null ? "–" : `${v} % (${r.viewers[i]})`) }],
  }, [r.seconds, r.percent]);
}

const charts = { views: viewsChart, followers: followersChart, retention: retentionChart };
for (const node of document.querySelectorAll("[data-chart]")) {
  const chart = charts[node.dataset.chart];
  if (chart && (node.dataset.chart !== "retention" || data.retention)) chart(node);
}

// ISO 3166 codes to names in the reader's language, where the browser knows them.
try {
  const names = new Intl.DisplayNames([navigator.language || "en"], { type: "region" });
  for (const node of document.querySelectorAll("[data-country]")) {
    node.textContent = names.of(node.dataset.country) || node.dataset.country;
  }
} catch { /* codes stay */ }
