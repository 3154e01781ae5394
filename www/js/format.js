/** Formatting room: units, numbers and dates in the meter's time zone (Intl only, no libraries). */

const formatters = new Map();

/** One cached Intl.DateTimeFormat per (locale, options): building them is the slow part. */
function dateFormat(locale, options) {
  const key = `${locale ?? ''}|${JSON.stringify(options)}`;
  let fmt = formatters.get(key);
  if (!fmt) {
    fmt = new Intl.DateTimeFormat(locale, options);
    formatters.set(key, fmt);
  }
  return fmt;
}

/** The meter's zone when the browser knows it, else UTC (the data stays readable, with a note). */
export function knownTimeZone(timeZone) {
  try {
    dateFormat('en', { timeZone });
    return timeZone;
  } catch {
    return 'UTC';
  }
}

const numberFormats = new Map();

/** toLocaleString builds a formatter on every call; these are kept, one per (locale, digits). */
function number(value, digits, locale) {
  const key = `${locale ?? ''}|${digits}`;
  let fmt = numberFormats.get(key);
  if (!fmt) {
    fmt = new Intl.NumberFormat(locale, { maximumFractionDigits: digits });
    numberFormats.set(key, fmt);
  }
  return fmt.format(value);
}

/** Power in W below 10 kW, in kW above; '—' when there is no value. */
export function formatPower(watts, locale) {
  if (watts === null || watts === undefined || !Number.isFinite(watts)) return '—';
  if (Math.abs(watts) >= 10000) return `${number(watts / 1000, 1, locale)} kW`;
  if (Math.abs(watts) >= 1000) return `${number(watts / 1000, 2, locale)} kW`;
  return `${number(watts, Math.abs(watts) < 10 ? 1 : 0, locale)} W`;
}

/** Energy in kWh with fewer decimals as it grows. */
export function formatEnergy(kwh, locale) {
  if (kwh === null || kwh === undefined || !Number.isFinite(kwh)) return '—';
  const digits = Math.abs(kwh) < 10 ? 3 : Math.abs(kwh) < 1000 ? 1 : 0;
  return `${number(kwh, digits, locale)} kWh`;
}

/** A cost in the meter's currency; an unknown currency code is shown as plain text. */
export function formatCost(amount, currency, locale) {
  if (amount === null || amount === undefined || !Number.isFinite(amount)) return '—';
  if (currency) {
    try {
      return amount.toLocaleString(locale, { style: 'currency', currency });
    } catch {
      return `${number(amount, 2, locale)} ${currency}`;
    }
  }
  return number(amount, 2, locale);
}

/** Date and time of a Unix second in the meter's zone, e.g. "27 Nov 2026, 14:20". */
export function formatDateTime(unix, timeZone, locale) {
  return dateFormat(locale, {
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
  return dateFormat(locale, options).format(unix * 1000);
}

/** A day on an axis of hours: weekday and date, e.g. "Mon, Nov 30". */
export function formatWeekday(unix, timeZone, locale) {
  return dateFormat(locale, { timeZone, weekday: 'short', month: 'short', day: 'numeric' }).format(unix * 1000);
}

/** A bucket's full name for tooltips and tables. */
export function formatBucketLong(unix, bucket, timeZone, locale) {
  const options = bucket === 'day'
    ? { timeZone, weekday: 'short', year: 'numeric', month: 'short', day: 'numeric' }
    : { timeZone, weekday: 'short', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' };
  return dateFormat(locale, options).format(unix * 1000);
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

/**
 * The local calendar day (whole days since 1970-01-01) and minute of that day of a Unix second in
 * the meter's zone: what "today" and "this week" are counted in.
 */
export function localClock(unix, timeZone) {
  const parts = {};
  const fmt = dateFormat('en-US', {
    timeZone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric',
  });
  for (const part of fmt.formatToParts(unix * 1000)) parts[part.type] = Number(part.value);
  return { day: Date.UTC(parts.year, parts.month - 1, parts.day) / 86400000, minute: parts.hour * 60 + parts.minute };
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
