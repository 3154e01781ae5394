
const formatters = new Map();

function dateFormat(locale, options) {
  const key = `${locale ?? ''}|${JSON.stringify(options)}`;
  let fmt = formatters.get(key);
  if (!fmt) {
    fmt = new Intl.DateTimeFormat(locale, options);
    formatters.set(key, fmt);
  }
  return fmt;
}

export function knownTimeZone(timeZone) {
  try {
    dateFormat('en', { timeZone });
    return timeZone;
  } catch {
    return 'UTC';
  }
}

const numberFormats = new Map();

function number(value, digits, locale) {
  const key = `${locale ?? ''}|${digits}`;
  let fmt = numberFormats.get(key);
  if (!fmt) {
    fmt = new Intl.NumberFormat(locale, { maximumFractionDigits: digits });
    numberFormats.set(key, fmt);
  }
  return fmt.format(value);
}

export function formatPower(watts, locale) {
  if (watts === null || watts === undefined || !Number.isFinite(watts)) return '—';
  if (Math.abs(watts) >= 10000) return `${number(watts / 1000, 1, locale)} kW`;
  if (Math.abs(watts) >= 1000) return `${number(watts / 1000, 2, locale)} kW`;
  return `${number(watts, Math.abs(watts) < 10 ? 1 : 0, locale)} W`;
}

export function formatEnergy(kwh, locale) {
  if (kwh === null || kwh === undefined || !Number.isFinite(kwh)) return '—';
  const digits = Math.abs(kwh) < 10 ? 3 : Math.abs(kwh) < 1000 ? 1 : 0;
  return `${number(kwh, digits, locale)} kWh`;
}

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

export function formatDateTime(unix, timeZone, locale) {
  return dateFormat(locale, {
    timeZone, year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit',
  }).format(unix * 1000);
}

export function formatBucket(unix, bucket, timeZone, locale) {
  const options = bucket === 'day'
    ? { timeZone, month: 'short', day: 'numeric' }
    : bucket === 'hour'
      ? { timeZone, weekday: 'short', hour: '2-digit', minute: '2-digit' }
      : { timeZone, hour: '2-digit', minute: '2-digit' };
  return dateFormat(locale, options).format(unix * 1000);
}

export function formatWeekday(unix, timeZone, locale) {
  return dateFormat(locale, { timeZone, weekday: 'short', month: 'short', day: 'numeric' }).format(unix * 1000);
}

export function formatBucketLong(unix, bucket, timeZone, locale) {
  const options = bucket === 'day'
    ? { timeZone, weekday: 'short', year: 'numeric', month: 'short', day: 'numeric' }
    : { timeZone, weekday: 'short', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' };
  return dateFormat(locale, options).format(unix * 1000);
}

export function localIso(unix, timeZone) {
  const parts = {};
  const fmt = dateFormat('en-US', {
    timeZone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit',
    hour: '2-digit', minute: '2-digit', second: '2-digit', timeZoneName: 'longOffset',
  });
  for (const part of fmt.formatToParts(unix * 1000)) parts[part.type] = part.value;
  const offset = parts.timeZoneName === 'GMT' ? '+00:00' : parts.timeZoneName.slice(3);
  return `${parts.year}-${parts.month}-${parts.day}T${parts.hour}:${parts.minute}:${parts.second}${offset}`;
}

export function localClock(unix, timeZone) {
  const parts = {};
  const fmt = dateFormat('en-US', {
    timeZone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric',
  });
  for (const part of fmt.formatToParts(unix * 1000)) parts[part.type] = Number(part.value);
  return { day: Date.UTC(parts.year, parts.month - 1, parts.day) / 86400000, minute: parts.hour * 60 + parts.minute };
}

export function formatAge(seconds) {
  const units = [['day', 86400], ['hour', 3600], ['minute', 60]];
  for (const [name, size] of units) {
    const count = Math.floor(seconds / size);
    if (count >= 1) return `${count} ${name}${count === 1 ? '' : 's'}`;
  }
  return 'less than a minute';
}
