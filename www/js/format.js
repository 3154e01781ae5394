/**
 * Formatting room: units, numbers and dates in the meter's time zone (Intl only, no libraries).
 *
 * `locale` is how the viewer writes them: {dates, numbers, grouping}. `dates` and `numbers` are
 * Intl locales (undefined: the browser's own); `dates` may carry an hour cycle
 * (`en-GB-u-hc-h12`), and `grouping: false` writes 1234567 rather than 1,234,567. The page uses
 * the browser's for all; the HA panel the user's settings in Home Assistant.
 */

const formatters = new Map();

/** One cached Intl.DateTimeFormat per (locale tag, options): building them is the slow part. */
function dateFormat(tag, options) {
  const key = `${tag ?? ''}|${JSON.stringify(options)}`;
  let fmt = formatters.get(key);
  if (!fmt) {
    fmt = new Intl.DateTimeFormat(tag, options);
    formatters.set(key, fmt);
  }
  return fmt;
}

/** The meter's zone when the browser knows it, else UTC (the data stays readable, with a note). */
export function knownTimeZone(timeZone) {
  try {
    clockFormat(timeZone); // the one every chart's labels need (localClock)
    return timeZone;
  } catch {
    return 'UTC';
  }
}

const numberFormats = new Map();

/** Intl's number options for a locale: its own grouping unless the viewer wants none. */
function numberOptions(locale, options) {
  return locale?.grouping === false ? { ...options, useGrouping: false } : options;
}

/** toLocaleString builds a formatter on every call; these are kept, one per (locale, digits). */
function number(value, digits, locale) {
  const key = `${JSON.stringify(locale?.numbers ?? '')}|${locale?.grouping !== false}|${digits}`;
  let fmt = numberFormats.get(key);
  if (!fmt) {
    fmt = new Intl.NumberFormat(locale?.numbers, numberOptions(locale, { maximumFractionDigits: digits }));
    numberFormats.set(key, fmt);
  }
  return fmt.format(value);
}

/**
 * A value in the first of `units` ([below, divisor, digits, unit], in increasing order) it stays
 * below once rounded to that unit's digits: 999.6 W is "1 kW", not "1,000 W".
 */
function scaled(value, units, locale) {
  for (const [below, divisor, digits, unit] of units) {
    // toFixed rounds the exact value half away from zero, as Intl does when it writes it.
    const shown = Number((Math.abs(value) / divisor).toFixed(digits)) * divisor;
    if (shown < below) return `${number(value / divisor, digits, locale)} ${unit}`;
  }
  throw new RangeError('the last unit must take any value');
}

// Power in W below 1 kW (a decimal below 10 W), in kW above (two decimals below 10 kW).
const POWER_UNITS = [[10, 1, 1, 'W'], [1000, 1, 0, 'W'], [10000, 1000, 2, 'kW'], [Infinity, 1000, 1, 'kW']];
// Energy in kWh with fewer decimals as it grows.
const ENERGY_UNITS = [[10, 1, 3, 'kWh'], [1000, 1, 1, 'kWh'], [Infinity, 1, 0, 'kWh']];

/** Power in W below 1 kW, in kW above; '—' when there is no value. */
export function formatPower(watts, locale) {
  if (watts === null || watts === undefined || !Number.isFinite(watts)) return '—';
  return scaled(watts, POWER_UNITS, locale);
}

/** Energy in kWh with fewer decimals as it grows. */
export function formatEnergy(kwh, locale) {
  if (kwh === null || kwh === undefined || !Number.isFinite(kwh)) return '—';
  return scaled(kwh, ENERGY_UNITS, locale);
}

/** A cost in the meter's currency; an unknown currency code is shown as plain text. */
export function formatCost(amount, currency, locale) {
  if (amount === null || amount === undefined || !Number.isFinite(amount)) return '—';
  if (currency) {
    try {
      return amount.toLocaleString(locale?.numbers, numberOptions(locale, { style: 'currency', currency }));
    } catch {
      return `${number(amount, 2, locale)} ${currency}`;
    }
  }
  return number(amount, 2, locale);
}

/** Date and time of a Unix second in the meter's zone, e.g. "27 Nov 2026, 14:20". */
export function formatDateTime(unix, timeZone, locale) {
  return dateFormat(locale?.dates, {
    timeZone, year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit',
  }).format(unix * 1000);
}

/** A bucket's axis label: the time for 10-minute buckets, day and hour for hours, the date for days. */
export function formatBucket(unix, bucket, timeZone, locale) {
  const options = bucket === 'day'
    ? { timeZone, month: 'short', day: 'numeric' }
    : bucket === 'hour'
      ? { timeZone, weekday: 'short', hour: '2-digit', minute: '2-digit' }
      : { timeZone, hour: '2-digit', minute: '2-digit' };
  return dateFormat(locale?.dates, options).format(unix * 1000);
}

/** A day on an axis of hours: weekday and date, e.g. "Mon, Nov 30". */
export function formatWeekday(unix, timeZone, locale) {
  return dateFormat(locale?.dates, { timeZone, weekday: 'short', month: 'short', day: 'numeric' }).format(unix * 1000);
}

/**
 * A bucket's full name for tooltips and tables; `zone` ('short', 'shortOffset') adds the zone's
 * name or offset, as Intl's timeZoneName writes it.
 */
export function formatBucketLong(unix, bucket, timeZone, locale, zone) {
  const options = bucket === 'day'
    ? { timeZone, weekday: 'short', year: 'numeric', month: 'short', day: 'numeric' }
    : { timeZone, weekday: 'short', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' };
  if (zone) options.timeZoneName = zone;
  return dateFormat(locale?.dates, options).format(unix * 1000);
}

/** The names that occur more than once in a list. */
function repeated(names) {
  const seen = new Set();
  const twice = new Set();
  for (const name of names) (seen.has(name) ? twice : seen).add(name);
  return twice;
}

/**
 * The full names of buckets (formatBucketLong), told apart where the clock repeats among them
 * (the hour the clocks go back): those get the zone's short name ("CEST", "CET"), or its offset
 * where the language writes both sides of the change alike.
 */
export function bucketNames(starts, bucket, timeZone, locale) {
  let names = starts.map((unix) => formatBucketLong(unix, bucket, timeZone, locale));
  for (const zone of ['short', 'shortOffset']) {
    const twice = repeated(names);
    if (twice.size === 0) break;
    names = names.map((name, i) => (twice.has(name) ? formatBucketLong(starts[i], bucket, timeZone, locale, zone) : name));
  }
  return names;
}

/** ISO 8601 local time with offset in the meter's zone, e.g. "2026-11-27T14:20:00+01:00". */
export function localIso(unix, timeZone) {
  const parts = {};
  const fmt = dateFormat('en-US', {
    timeZone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit',
    hour: '2-digit', minute: '2-digit', second: '2-digit', timeZoneName: 'longOffset',
  });
  for (const part of fmt.formatToParts(unix * 1000)) parts[part.type] = part.value;
  // "GMT+01:00" → "+01:00"; plain "GMT" is UTC itself.
  const offset = parts.timeZoneName === 'GMT' ? '+00:00' : parts.timeZoneName.slice(3);
  return `${parts.year}-${parts.month}-${parts.day}T${parts.hour}:${parts.minute}:${parts.second}${offset}`;
}

/** The formatter localClock reads a zone's clock with. */
function clockFormat(timeZone) {
  return dateFormat('en-US', {
    timeZone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric',
  });
}

/**
 * The local calendar day (whole days since 1970-01-01) and minute of that day of a Unix second in
 * the meter's zone: what "today" and "this week" are counted in.
 */
export function localClock(unix, timeZone) {
  const parts = {};
  for (const part of clockFormat(timeZone).formatToParts(unix * 1000)) parts[part.type] = Number(part.value);
  return { day: Date.UTC(parts.year, parts.month - 1, parts.day) / 86400000, minute: parts.hour * 60 + parts.minute };
}

/** Seconds the meter's clock is ahead of UTC at a Unix second (offsets are whole minutes). */
function utcOffset(unix, timeZone) {
  const { day, minute } = localClock(unix, timeZone);
  return day * 86400 + minute * 60 - (unix - (((unix % 60) + 60) % 60));
}

// The longest stretch of time localClocks takes one offset for when both its ends have it.
const SAME_OFFSET_SECONDS = 7 * 86400;

/**
 * localClock of every one of increasing Unix seconds, asking Intl only where the offset from UTC
 * may change: at both ends of each week, and, where the ends differ, halving the stretch down to
 * the change. Clock changes are months apart (hourStart counts on it too), so a week whose ends
 * agree holds none. A year of days takes about 60 asks rather than 365, the slow part of
 * choosing a year's axis labels.
 */
export function localClocks(starts, timeZone) {
  const offsets = new Array(starts.length);
  const offsetAt = (i) => (offsets[i] ??= utcOffset(starts[i], timeZone));
  const settle = (a, b) => {
    if (offsetAt(a) === offsetAt(b)) offsets.fill(offsets[a], a + 1, b);
    else if (b - a > 1) {
      const middle = Math.floor((a + b) / 2);
      settle(a, middle);
      settle(middle, b);
    }
  };
  for (let a = 0, b = 0; b < starts.length - 1; a = b) {
    b += 1;
    while (b < starts.length - 1 && starts[b + 1] - starts[a] <= SAME_OFFSET_SECONDS) b += 1;
    settle(a, b);
  }
  return starts.map((unix, i) => {
    const local = unix - (((unix % 60) + 60) % 60) + offsetAt(i);
    const day = Math.floor(local / 86400);
    return { day, minute: (local - day * 86400) / 60 };
  });
}

/**
 * Where the local hour holding a Unix second starts, as the integration cuts hours: where the
 * clock reads a whole hour, or at a change of half an hour (Lord Howe Island) inside that hour.
 */
export function hourStart(unix, timeZone) {
  const offset = utcOffset(unix, timeZone);
  let before = unix - ((((unix + offset) % 3600) + 3600) % 3600);
  if ((utcOffset(before, timeZone) - offset) % 3600 === 0) return before;
  // The first second with the later offset (clock changes are months apart: there is one).
  let after = unix;
  while (after - before > 1) {
    const middle = Math.floor((before + after) / 2);
    if (utcOffset(middle, timeZone) === offset) after = middle;
    else before = middle;
  }
  return after;
}

/** A duration in words, rounded down to its largest unit: "5 minutes", "3 hours", "2 days". */
export function formatAge(seconds) {
  const units = [['day', 86400], ['hour', 3600], ['minute', 60]];
  for (const [name, size] of units) {
    const count = Math.floor(seconds / size);
    if (count >= 1) return `${count} ${name}${count === 1 ? '' : 's'}`;
  }
  return 'less than a minute';
}
