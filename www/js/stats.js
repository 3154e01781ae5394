/** Summary room: what the stat cards, the averages chart, the previous-period overlay and the CSV say about one view. */

import { NOMINAL_SECONDS } from './data.js';
import { localIso } from './format.js';

/** Length of bucket i: up to the next row's start, the nominal length for the last (open) one. */
export function bucketSeconds(file, i) {
  const { rows, col } = file;
  return i + 1 < rows.length ? rows[i + 1][col.start] - rows[i][col.start] : NOMINAL_SECONDS[file.bucket];
}

/** The stat cards of one view. Covered time weighs the mean, so partial buckets count only for what they cover. */
export function summarize(file) {
  const { rows, col } = file;
  let kwh = null;
  let covered = 0;
  let minW = null;
  let maxW = null;
  let cost = null;
  let latest = null;
  let backfilled = 0;
  rows.forEach((row, i) => {
    if (row[col.kwh] !== null) {
      const seconds = row[col.coverage] * bucketSeconds(file, i);
      kwh = (kwh ?? 0) + row[col.kwh];
      covered += seconds;
      // `backfill` is the share of a bucket's covered time rebuilt from HA's recorder.
      if ('backfill' in col && row[col.backfill] !== null) backfilled += row[col.backfill] * seconds;
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
    backfillShare: covered > 0 ? backfilled / covered : 0,
    gaps: rows.filter((row) => row[col.mean_w] === null).length,
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

function csvCell(value) {
  if (value === null || value === undefined) return '';
  const text = String(value);
  return /[",\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** The view as CSV: the file's columns as they are, plus the bucket start in the meter's time zone. */
export function toCsv(file, timeZone) {
  const { rows, columns, col } = file;
  const lines = [['local_time', ...columns].map(csvCell).join(',')];
  for (const row of rows) lines.push([localIso(row[col.start], timeZone), ...row].map(csvCell).join(','));
  return `${lines.join('\r\n')}\r\n`;
}
