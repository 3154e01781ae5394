import { NOMINAL_SECONDS } from './data.js';
import { hourStart, localClock, localIso } from './format.js';
export function bucketSeconds(file, i) {
const { rows, col } = file;
return i + 1 < rows.length ? rows[i + 1][col.start] - rows[i][col.start] : NOMINAL_SECONDS[file.bucket];
}
export function summarize(file) {
const { rows, col } = file;
let kwh = null;
let covered = 0;
let closed = 0;
let minW = null;
let maxW = null;
let cost = null;
let latest = null;
let backfilled = 0;
let priced = 0;
rows.forEach((row, i) => {
closed += Math.max(0, Math.min(bucketSeconds(file, i), file.generated - row[col.start]));
if (row[col.kwh] !== null) {
const seconds = row[col.coverage] * bucketSeconds(file, i);
kwh = (kwh ?? 0) + row[col.kwh];
covered += seconds;
if ('backfill' in col && row[col.backfill] !== null) backfilled += row[col.backfill] * seconds;
if ('cost' in col && row[col.cost] !== null) priced += seconds;
}
if (row[col.min_w] !== null) minW = minW === null ? row[col.min_w] : Math.min(minW, row[col.min_w]);
if (row[col.max_w] !== null) maxW = maxW === null ? row[col.max_w] : Math.max(maxW, row[col.max_w]);
if ('cost' in col && row[col.cost] !== null) cost = (cost ?? 0) + row[col.cost];
if (row[col.mean_w] !== null) latest = { watts: row[col.mean_w], start: row[col.start] };
});
return {
latest,
meanW: kwh !== null && covered > 0 ? (kwh * 3.6e6) / covered : null,
minW,
maxW,
kwh,
cost,
hasCost: 'cost' in col,
coveredSeconds: covered,
closedSeconds: closed,
backfillShare: covered > 0 ? backfilled / covered : 0,
pricedShare: covered > 0 ? priced / covered : 0,
gaps: rows.filter((row) => row[col.mean_w] === null && row[col.start] < file.generated).length,
};
}
export function dailyAverageKwh(file) {
const { kwh, coveredSeconds } = summarize(file);
return kwh !== null && coveredSeconds > 0 ? (kwh / coveredSeconds) * 86400 : null;
}
function rowContaining(file, t) {
const { rows, col } = file;
let lo = 0;
let hi = rows.length - 1;
while (lo <= hi) {
const mid = (lo + hi) >> 1;
if (rows[mid][col.start] <= t) lo = mid + 1;
else hi = mid - 1;
}
if (hi < 0 || t >= rows[hi][col.start] + bucketSeconds(file, hi)) return null;
return rows[hi];
}
export function previousPeriod(file, sources, metric) {
const { rows, col } = file;
if (rows.length === 0) return null;
const last = rows.length - 1;
const span = rows[last][col.start] + bucketSeconds(file, last) - rows[0][col.start];
const usable = sources
.filter((s) => s.rows.length > 0 && (metric === 'mean_w' || s.bucket === file.bucket))
.sort((a, b) => NOMINAL_SECONDS[a.bucket] - NOMINAL_SECONDS[b.bucket]);
let found = 0;
const values = rows.map((row, i) => {
const t = row[col.start] + bucketSeconds(file, i) / 2 - span;
for (const source of usable) {
const match = rowContaining(source, t);
if (match && match[source.col[metric]] !== null) {
found += 1;
return match[source.col[metric]];
}
}
return null;
});
return found > 0 ? values : null;
}
export function withRows(file, rows) {
return { ...file, rows };
}
export function calendarPeriod(file, unit, timeZone, metric) {
const { rows, col } = file;
if (rows.length === 0) return { rows, chart: file, previous: null };
const size = NOMINAL_SECONDS[file.bucket];
const days = unit === 'week' ? 7 : 1;
const newest = localClock(rows.at(-1)[col.start], timeZone).day;
const first = unit === 'week' ? newest - ((newest + 3) % 7) : newest;
const key = (clock, periodStart) => `${clock.day - periodStart}|${clock.minute}`;
const current = [];
const earlier = new Map();
for (const row of rows) {
const clock = localClock(row[col.start], timeZone);
if (clock.day >= first) current.push(row);
else if (clock.day >= first - days) earlier.set(key(clock, first - days), row[col[metric]]);
}
const inPeriod = (t) => {
const day = localClock(t, timeZone).day;
return day >= first && day < first + days;
};
const hourly = file.bucket === 'hour';
const before = (t) => (hourly ? hourStart(t - 1, timeZone) : t - size);
const after = (t) => (hourly ? hourStart(t + size, timeZone) : t + size);
const slots = current.map((row) => row[col.start]);
for (let t = before(slots[0]); inPeriod(t); t = before(t)) slots.unshift(t);
for (let t = after(slots.at(-1)); inPeriod(t); t = after(t)) slots.push(t);
const byStart = new Map(current.map((row) => [row[col.start], row]));
const empty = (t) => file.columns.map((name) => (name === 'start' ? t : name === 'coverage' ? 0 : null));
let found = 0;
const previous = slots.map((t) => {
const value = earlier.get(key(localClock(t, timeZone), first)) ?? null;
if (value !== null) found += 1;
return value;
});
return {
rows: current,
chart: withRows(file, slots.map((t) => byStart.get(t) ?? empty(t))),
previous: found > 0 ? previous : null,
};
}
function csvCell(value) {
if (value === null || value === undefined) return '';
const text = String(value);
return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}
export function toCsv(file, timeZone) {
const { rows, columns, col } = file;
const lines = [['local_time', ...columns].map(csvCell).join(',')];
for (const row of rows) lines.push([localIso(row[col.start], timeZone), ...row].map(csvCell).join(','));
return `${lines.join('\r\n')}\r\n`;
}
