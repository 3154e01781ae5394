export const CHART_FONT = 'system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif';
export const CHART_FONT_SIZE = 12;
const LINE_HEIGHT = CHART_FONT_SIZE * 1.2;
const TICK_LENGTH = 8;
const TICK_PADDING = 3;
function niceNum(range) {
const rounded = Math.round(range);
const value = Math.abs(range - rounded) < range / 1000 ? rounded : range;
const power = 10 ** Math.floor(Math.log10(value));
const fraction = value / power;
return (fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 5 ? 5 : 10) * power;
}
function decimalPlaces(x) {
let e = 1;
let places = 0;
while (Math.round(x * e) / e !== x) {
e *= 10;
places += 1;
}
return places;
}
function linearTicks(min, max, maxTicks) {
const spaces = maxTicks - 1;
let spacing = niceNum((max - min) / spaces);
const needed = Math.ceil(max / spacing) - Math.floor(min / spacing);
if (needed > spaces) spacing = niceNum((needed * spacing) / spaces);
let niceMin = Math.floor(min / spacing) * spacing;
let niceMax = Math.ceil(max / spacing) * spacing;
let count = (niceMax - niceMin) / spacing;
count = Math.abs(count - Math.round(count)) < spacing / 1000 ? Math.round(count) : Math.ceil(count);
const factor = 10 ** Math.max(decimalPlaces(spacing), decimalPlaces(niceMin));
niceMin = Math.round(niceMin * factor) / factor;
niceMax = Math.round(niceMax * factor) / factor;
const ticks = [];
for (let j = 0; j < count; j += 1) ticks.push(Math.round((niceMin + j * spacing) * factor) / factor);
ticks.push(niceMax);
return ticks;
}
export function sketch(canvas, config) {
const { data: { labels, datasets }, options } = config;
if (config.type !== 'bar' || datasets.length !== 1 || options.indexAxis === 'y'
|| options.plugins.legend.display || labels.length === 0) return false;
const [series] = datasets;
const { x: xAxis, y: yAxis } = options.scales;
const width = Math.floor(canvas.parentElement.clientWidth);
const height = Math.floor(canvas.parentElement.clientHeight);
if (width === 0 || height === 0) return false;
const ratio = globalThis.devicePixelRatio || 1;
const align = (pixel) => Math.round((pixel - 0.5) * ratio) / ratio + 0.5;
const probe = canvas.ownerDocument.createElement('canvas').getContext('2d');
probe.font = `${CHART_FONT_SIZE}px ${CHART_FONT}`;
const measure = (text) => probe.measureText(text).width;
const values = series.data.filter(Number.isFinite);
let min = values.reduce((low, v) => Math.min(low, v), 0);
let max = values.reduce((high, v) => Math.max(high, v), 0);
if (min === max) max = 1;
const top = LINE_HEIGHT / 2 + TICK_PADDING;
const bottom = top + (height - (top + (TICK_LENGTH + LINE_HEIGHT + 2 * TICK_PADDING)));
const limit = Math.min(yAxis.ticks.maxTicksLimit ?? 11, Math.ceil((bottom - top) / Math.min(40, LINE_HEIGHT)));
const yTicks = linearTicks(min, max, Math.max(2, limit)).map((value) => ({ value, label: yAxis.ticks.callback(value) }));
[min, max] = [yTicks[0].value, yTicks.at(-1).value];
const yWidth = Math.min(width / 2, TICK_LENGTH + Math.max(...yTicks.map((t) => measure(t.label))) + 2 * TICK_PADDING);
const n = labels.length;
const scale = { ticks: labels.map((_, value) => ({ value })), width: width - yWidth, ctx: probe, options: { offset: true } };
const all = scale.ticks;
xAxis.afterBuildTicks?.(scale);
if (scale.ticks === all && n > 1) return false;
const xTicks = scale.ticks.map(({ value }) => ({ value, label: xAxis.ticks.callback(value) }));
const xWidths = xTicks.map((t) => measure(t.label));
const skipRoom = Math.floor(scale.width / (Math.max(...xWidths) + (xAxis.ticks.autoSkipPadding ?? 0)));
if (xTicks.length > skipRoom) return false;
const w = scale.width;
const edge = (label, offset) => Math.max(((label / 2 - offset + TICK_PADDING) * w) / (w - offset), 0);
const padLeft = edge(xWidths[0], ((xTicks[0].value + 0.5) / n) * w);
const padRight = edge(xWidths.at(-1), w - ((xTicks.at(-1).value + 0.5) / n) * w);
const left = yWidth + Math.max(padLeft - yWidth, 0);
const right = left + (width - (Math.max(padLeft, yWidth) + padRight));
const xAt = (index) => left + ((index + 0.5) / n) * (right - left);
const yAt = (value) => top + (1 - (value - min) / (max - min)) * (bottom - top);
Object.assign(canvas.style, { display: 'block', boxSizing: 'border-box', width: `${width}px`, height: `${height}px` });
canvas.width = Math.floor(width * ratio);
canvas.height = Math.floor(height * ratio);
const ctx = canvas.getContext('2d');
ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
ctx.lineWidth = 1;
ctx.strokeStyle = xAxis.grid.color;
const line = (x1, y1, x2, y2) => {
ctx.beginPath();
ctx.moveTo(x1, y1);
ctx.lineTo(x2, y2);
ctx.stroke();
};
const leftBorder = align(left);
const bottomBorder = align(bottom);
for (const { value } of xTicks) {
const x = align(xAt(value));
line(x, top, x, bottomBorder - 0.5);
line(x, bottomBorder + 0.5, x, bottom + TICK_LENGTH);
}
for (const { value } of yTicks) {
const y = align(yAt(value));
line(leftBorder + 0.5, y, right, y);
line(left - TICK_LENGTH, y, leftBorder - 0.5, y);
}
line(align(left) - 0.5, bottomBorder, align(right) + 0.5, bottomBorder);
line(leftBorder, align(top) - 0.5, leftBorder, align(bottom) + 0.5);
ctx.font = probe.font;
ctx.fillStyle = xAxis.ticks.color;
ctx.textBaseline = 'middle';
ctx.textAlign = 'center';
for (const { value, label } of xTicks) ctx.fillText(label, xAt(value), bottom + TICK_LENGTH + TICK_PADDING + LINE_HEIGHT / 2);
ctx.textAlign = 'right';
for (const { value, label } of yTicks) ctx.fillText(label, left - TICK_LENGTH - TICK_PADDING, yAt(value));
const barWidth = ((right - left) / n) * (series.categoryPercentage ?? 0.8) * (series.barPercentage ?? 0.9);
const zero = yAt(Math.max(min, Math.min(0, max)));
ctx.fillStyle = series.backgroundColor;
ctx.beginPath();
ctx.rect(left, top, right - left, bottom - top);
ctx.clip();
series.data.forEach((value, index) => {
if (!Number.isFinite(value)) return;
const y = yAt(value);
const base = zero + Math.sign(y - zero) / 2;
ctx.beginPath();
ctx.rect(xAt(index) - barWidth / 2, Math.min(y, base), barWidth, Math.abs(base - y));
ctx.fill();
});
return true;
}
