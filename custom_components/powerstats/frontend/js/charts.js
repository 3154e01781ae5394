import { CHART_FONT, CHART_FONT_SIZE, sketch } from './sketch.js';
import {
bucketNames, formatBucket, formatEnergy, formatPower, formatWeekday, localClock,
} from './format.js';
import { NOMINAL_SECONDS } from './data.js';
const X_LABEL_PADDING = 12;
function withAlpha(rgb, alpha) {
const channels = rgb.match(/[\d.]+/g) ?? ['0', '0', '0'];
return `rgba(${channels.slice(0, 3).join(', ')}, ${alpha})`;
}
export function themeColors(element) {
const probe = document.createElement('span');
probe.hidden = true;
element.append(probe);
const read = (name) => {
probe.style.color = `var(${name})`;
return getComputedStyle(probe).color;
};
const colors = {
text: read('--ps-fg'),
muted: read('--ps-muted'),
grid: read('--ps-line'),
accent: read('--ps-accent'),
compare: read('--ps-compare'),
};
probe.remove();
colors.accentFill = withAlpha(colors.accent, 0.18);
colors.faint = withAlpha(colors.muted, 0.7);
return colors;
}
function baseOptions(colors) {
return {
animation: false,
normalized: true,
responsive: true,
maintainAspectRatio: false,
interaction: { mode: 'index', intersect: false },
font: { family: CHART_FONT },
plugins: {
legend: {
display: false,
labels: { color: colors.text, font: { family: CHART_FONT }, boxHeight: 2, sort: (a, b) => a.datasetIndex - b.datasetIndex },
},
tooltip: { titleFont: { family: CHART_FONT }, bodyFont: { family: CHART_FONT } },
},
};
}
function axis(colors, { grid, ticks, ...extra }) {
return {
grid: { color: colors.grid, ...grid },
border: { color: colors.grid },
ticks: { color: colors.muted, font: { family: CHART_FONT }, ...ticks },
...extra,
};
}
export function isolatedPointRadii(data, radius = 2.5) {
return data.map((value, i) => (value !== null && (data[i - 1] ?? null) === null
&& (data[i + 1] ?? null) === null ? radius : 0));
}
const TICK_STEPS = [
...[30, 60, 120, 180, 360, 720].map((minutes) => [minutes * 60, (c) => c.minute % minutes === 0]),
[86400, (c) => c.dayStart],
[2 * 86400, (c) => c.dayStart && c.date % 2 === 1],
[7 * 86400, (c) => c.dayStart && c.weekday === 1],
...[1, 2, 3, 6, 12].map((months) => [
months * 28 * 86400, (c) => c.dayStart && c.date === 1 && c.month % months === 0,
]),
];
function calendarClock(unix, timeZone, before = localClock(unix - 1, timeZone)) {
const { day, minute } = localClock(unix, timeZone);
const date = new Date(day * 86400000);
return {
day, minute, dayStart: before.day !== day,
date: date.getUTCDate(), month: date.getUTCMonth(), weekday: date.getUTCDay(),
};
}
function roundTimeTicks(rows, col, labels, { bucket, timeZone, locale, padding }) {
const starts = rows.map((row) => row[col.start]);
let clocks = null;
let days = false;
const label = (i) => (days && bucket === 'hour' ? formatWeekday(starts[i], timeZone, locale) : labels[i]);
function afterBuildTicks(scale) {
if (!clocks) {
clocks = [];
starts.forEach((unix, i) => clocks.push(calendarClock(unix, timeZone, clocks[i - 1])));
}
const room = (width) => Math.floor(scale.width / (width + padding) + (scale.options.offset ? 0 : 1));
const { ctx } = scale;
ctx.save();
ctx.font = `${CHART_FONT_SIZE}px ${CHART_FONT}`;
let chosen = null;
for (const [seconds, labelled] of TICK_STEPS) {
if (seconds < NOMINAL_SECONDS[bucket]) continue;
const kept = [];
for (const tick of scale.ticks) {
if (!labelled(clocks[tick.value])) continue;
const previous = kept.at(-1);
if (previous) {
const clock = clocks[tick.value];
const before = clocks[previous.value];
const wall = ((clock.day - before.day) * 1440 + clock.minute - before.minute) * 60;
if (Math.max(wall, starts[tick.value] - starts[previous.value]) < 0.75 * seconds) continue;
}
kept.push(tick);
}
if (kept.length === 0) continue;
chosen = kept;
days = seconds >= 86400;
const size = NOMINAL_SECONDS[bucket];
if (kept.some((tick, k) => k > 0 && (tick.value - kept[k - 1].value) * size < 0.75 * seconds)) continue;
if (kept.length > room(12)) continue;
const widest = Math.max(...kept.map((tick) => ctx.measureText(label(tick.value)).width));
if (kept.length <= room(widest)) break;
}
ctx.restore();
if (chosen) scale.ticks = chosen;
else days = false;
}
return { afterBuildTicks, callback: label };
}
export function mainChartConfig(file, previous, { colors, timeZone, locale, names = {} }) {
const { rows, col, bucket } = file;
const daily = bucket === 'day';
const metric = daily ? 'kwh' : 'mean_w';
const show = daily ? (v) => formatEnergy(v, locale) : (v) => formatPower(v, locale);
const labels = rows.map((row) => formatBucket(row[col.start], bucket, timeZone, locale));
const values = rows.map((row) => row[col[metric]]);
const current = {
type: daily ? 'bar' : 'line',
label: names.current ?? (daily ? 'Energy per day' : 'Mean power'),
data: values,
borderColor: colors.accent,
backgroundColor: daily ? colors.accent : colors.accentFill,
borderWidth: daily ? 0 : 1.5,
pointRadius: daily ? 0 : isolatedPointRadii(values),
pointBackgroundColor: colors.accent,
fill: !daily,
spanGaps: false,
categoryPercentage: 1,
barPercentage: 0.85,
order: 2,
};
const datasets = [current];
if (previous) {
datasets.push({
type: 'line',
label: names.previous ?? 'Previous period',
data: previous,
borderColor: colors.compare,
backgroundColor: colors.compare,
borderDash: [6, 4],
borderWidth: 1.5,
pointRadius: isolatedPointRadii(previous),
fill: false,
spanGaps: false,
order: 1,
});
}
const options = baseOptions(colors);
options.plugins.legend.display = Boolean(previous);
let titles = null; // the buckets' full names, once a tooltip shows one
options.plugins.tooltip.callbacks = {
title: (items) => {
titles ??= bucketNames(rows.map((row) => row[col.start]), bucket, timeZone, locale);
return titles[items[0].dataIndex];
},
label: (item) => `${item.dataset.label}: ${item.raw === null ? 'no data' : show(item.raw)}`,
};
const { afterBuildTicks, callback } = roundTimeTicks(rows, col, labels, {
bucket, timeZone, locale, padding: X_LABEL_PADDING,
});
options.scales = {
x: axis(colors, {
grid: { offset: false },
afterBuildTicks,
ticks: {
callback, autoSkip: true, maxRotation: 0, autoSkipPadding: X_LABEL_PADDING, sampleSize: 32,
},
}),
y: axis(colors, { beginAtZero: true, ticks: { callback: show, maxTicksLimit: 6 } }),
};
return { type: daily ? 'bar' : 'line', data: { labels, datasets }, options };
}
export function averagesChartConfig(averages, currentLevel, { colors, locale }) {
const options = baseOptions(colors);
options.indexAxis = 'y';
options.interaction = { mode: 'nearest', intersect: true };
options.plugins.tooltip.callbacks = { label: (item) => `${formatEnergy(item.raw, locale)} per day` };
options.scales = {
x: axis(colors, { beginAtZero: true, ticks: { callback: (v) => formatEnergy(v, locale), maxTicksLimit: 5 } }),
y: axis(colors, { grid: { display: false } }),
};
return {
type: 'bar',
data: {
labels: averages.map((a) => a.label),
datasets: [{
label: 'Energy per day',
data: averages.map((a) => a.kwhPerDay),
backgroundColor: averages.map((a) => (a.level === currentLevel ? colors.accent : colors.faint)),
borderWidth: 0,
barPercentage: 0.7,
}],
},
options,
};
}
let library = null;
let Chart = null;
const wished = new WeakMap();
export function loadChartJs() {
library ??= import('../vendor/chart.min.js').then((module) => {
Chart = module.Chart;
return Chart;
}, (error) => {
library = null;
throw error;
});
return library;
}
export function drawChart(canvas, config) {
if (Chart) {
wished.delete(canvas);
Chart.getChart(canvas)?.destroy();
if (canvas.dataset.drawn === 'sketch') clearCanvas(canvas);
new Chart(canvas, config);
canvas.dataset.drawn = 'chart';
const done = Promise.resolve();
return { shown: done, live: done };
}
wished.set(canvas, config);
const sketched = sketch(canvas, config);
if (sketched) canvas.dataset.drawn = 'sketch';
else clearCanvas(canvas);
const live = loadChartJs().then(() => {
if (wished.get(canvas) !== config) throw new DrawReplaced();
drawChart(canvas, config);
});
return { shown: sketched ? Promise.resolve() : live, live };
}
export class DrawReplaced extends Error {}
function clearCanvas(canvas) {
canvas.removeAttribute('width');
canvas.removeAttribute('height');
canvas.removeAttribute('style');
delete canvas.dataset.drawn;
}
export function destroyChart(canvas) {
wished.delete(canvas);
Chart?.getChart(canvas)?.destroy();
delete canvas.dataset.drawn;
}
export function warmUp(bucket, { colors, timeZone, locale }) {
if (!Chart) return;
const day = bucket === 'day';
const rows = [0, 1, 2].map((i) => [i * 86400, day ? 1 + i : 0.1, 100 + i, 50, 200, 1]);
const file = { rows, bucket, col: { start: 0, kwh: 1, mean_w: 2, min_w: 3, max_w: 4, coverage: 5 } };
const canvas = document.createElement('canvas');
canvas.width = 300;
canvas.height = 150;
new Chart(canvas, mainChartConfig(file, null, { colors, timeZone, locale })).destroy();
}
