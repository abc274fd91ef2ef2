// The creator earnings page (/studio/earnings): the server renders every number; this draws
// earnings per day by source (gifts, tips, subscriptions) as stacked bars with uPlot from
// the page's JSON (#earnings-data, cents per UTC day). Marks itself data-ready with the
// number of days drawn (the browser tests read it).
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";

const data = JSON.parse(document.getElementById("earnings-data").textContent);
const css = getComputedStyle(document.documentElement);
const colour = (name, fallback) => css.getPropertyValue(name).trim() || fallback;
const FG = colour("--muted", "#9a9aa6");
const GRID = colour("--border", "#2a2a35");
const SOURCES = [
  ["gift", "Gifts", colour("--accent", "#fe2c55")],
  ["tip", "Tips", colour("--accent-2", "#25f4ee")],
  ["subscription", "Subscriptions", "#f5b700"],
];
const DAY = 86400;
const dayLabel = new Intl.DateTimeFormat("en-GB", { day: "numeric", month: "short", timeZone: "UTC" });
const dollars = (cents) => `$${(cents / 100).toFixed(2)}`;
const axis = (extra = {}) => ({ stroke: FG, grid: { stroke: GRID, width: 1 }, ticks: { stroke: GRID }, ...extra });
const height = () => (window.innerWidth < 600 ? 200 : 260);

function earningsChart(node) {
  // stacked: each series draws the running total of the sources up to it, the last first
  const stacks = [];
  let running = data.days.map(() => 0);
  for (const [key] of SOURCES) {
    running = running.map((sum, i) => sum + (data[key][i] || 0));
    stacks.push(running.map((v) => v || null));
  }
  const bars = uPlot.paths.bars({ size: [0.6, 28], align: 0 });
  const series = [{ label: "Day", value: (u, ts) => (ts == null ? "–" : dayLabel.format(new Date(ts * 1e3))) }];
  const values = [data.days];
  for (let i = SOURCES.length - 1; i >= 0; i -= 1) {
    const [key, label, stroke] = SOURCES[i];
    series.push({ label, stroke, fill: stroke, paths: bars, points: { show: false },
      value: (u, v, si, idx) => (v == null ? "–" : dollars(data[key][idx] || 0)) });
    values.push(stacks[i]);
  }
  const plot = new uPlot({
    width: Math.max(node.clientWidth, 200), height: height(),
    tzDate: (ts) => uPlot.tzDate(new Date(ts * 1e3), "Etc/UTC"),
    legend: { show: true, live: true },
    cursor: { drag: { x: false, y: false } },
    scales: { x: { time: true, range: (u, min, max) => [min - DAY / 2, max + DAY / 2] },
      y: { range: (u, min, max) => [0, Math.max(100, max)] } },
    axes: [
      axis({ incrs: [DAY, 2 * DAY, 7 * DAY, 14 * DAY], space: 56,
        values: (u, splits) => splits.map((ts) => dayLabel.format(new Date(ts * 1e3))) }),
      axis({ values: (u, splits) => splits.map(dollars), size: 64 }),
    ],
    series,
  }, values, node);
  node.dataset.ready = "true";
  node.dataset.points = String(data.days.length);
  new ResizeObserver(() => plot.setSize({ width: Math.max(node.clientWidth, 200), height: height() })).observe(node);
}

const node = document.querySelector('[data-chart="earnings"]');
if (node) earningsChart(node);
