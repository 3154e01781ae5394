/** Summary room: what the stat cards, the averages chart, the previous-period overlay and the CSV say about one view. */

import { NOMINAL_SECONDS } from './data.js';
import { hourStart, localClock, localClocks, localIso } from './format.js';

/** Length of bucket i: up to the next row's start, the nominal length for the last (open) one. */
export function bucketSeconds(file, i) {
  const { rows, col } = file;
  return i + 1 < rows.length ? rows[i + 1][col.start] - rows[i][col.start] : NOMINAL_SECONDS[file.bucket];
}

/**
 * The stat cards of one view. Covered time weighs the mean, so partial buckets count only for what they cover.
 * The bucket being measured when the file was written (from `generated` on) is no missing time and no gap.
 */
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
      // `backfill` is the share of a bucket's covered time rebuilt from HA's recorder.
      if ('backfill' in col && row[col.backfill] !== null) backfilled += row[col.backfill] * seconds;
      // A bucket without a known price (history rebuilt from the recorder, say) has no cost.
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

/** Energy per day over the covered part of a view (kWh/day); null when nothing is covered. */
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

/**
 * The previous period under each bucket of the view: the value of the bucket one period earlier,
 * taken from the finest file that holds it. Mean power compares across bucket sizes; energy only
 * between equal buckets. Bucket midpoints make a 23- or 25-hour day land on the right day.
 */
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

/** The same rows with only `rows` kept: what the cards, averages and CSV of a period read. */
export function withRows(file, rows) {
  return { ...file, rows };
}

/**
 * The calendar period a Today or This week view shows, counted as Home Assistant's sensors
 * "Energy today" and "Energy this week" count: the local day, or the local week from Monday
 * 00:00, holding the file's newest row (the bucket being measured when the file was written).
 *
 * Returns `rows`, the file's rows in that period; `chart`, the file with one row per bucket of
 * the whole period (buckets still to come, or not in the file, are empty rows, so a chart shows
 * the whole day or week); and `previous`, the `metric` of the period before at the same local
 * clock time (and weekday), wherever the file holds it — null when it holds none of it.
 */
export function calendarPeriod(file, unit, timeZone, metric) {
  const { rows, col } = file;
  if (rows.length === 0) return { rows, chart: file, previous: null };
  const size = NOMINAL_SECONDS[file.bucket];
  const days = unit === 'week' ? 7 : 1;
  const clocks = localClocks(rows.map((row) => row[col.start]), timeZone);
  const newest = clocks.at(-1).day;
  // 1970-01-01 was a Thursday: (day + 3) % 7 counts days since Monday.
  const first = unit === 'week' ? newest - ((newest + 3) % 7) : newest;
  const key = (clock, periodStart) => `${clock.day - periodStart}|${clock.minute}`;
  const current = [];
  const earlier = new Map();
  rows.forEach((row, i) => {
    const clock = clocks[i];
    if (clock.day >= first) current.push(row);
    else if (clock.day >= first - days) earlier.set(key(clock, first - days), row[col[metric]]);
  });
  // Every bucket of the period, found by stepping out from the rows in real seconds, so a day
  // of 23 or 25 hours has 138 or 150 ten-minute buckets. Hours step on the local clock: after a
  // change of half an hour, a fixed stride of 3,600 s would land at half past.
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
  const slotClocks = localClocks(slots, timeZone);
  const previous = slotClocks.map((clock) => {
    const value = earlier.get(key(clock, first)) ?? null;
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

/** The view as CSV: the file's columns as they are, plus the bucket start in the meter's time zone. */
export function toCsv(file, timeZone) {
  const { rows, columns, col } = file;
  const lines = [['local_time', ...columns].map(csvCell).join(',')];
  for (const row of rows) lines.push([localIso(row[col.start], timeZone), ...row].map(csvCell).join(','));
  return `${lines.join('\r\n')}\r\n`;
}
