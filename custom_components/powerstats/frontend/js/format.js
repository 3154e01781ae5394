const formatters = new Map();
function dateFormat(tag, options) {
const key = `${tag ?? ''}|${JSON.stringify(options)}`;
let fmt = formatters.get(key);
if (!fmt) {
fmt = new Intl.DateTimeFormat(tag, options);
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
function numberOptions(locale, options) {
return locale?.grouping === false ? { ...options, useGrouping: false } : options;
}
function number(value, digits, locale) {
const key = `${JSON.stringify(locale?.numbers ?? '')}|${locale?.grouping !== false}|${digits}`;
let fmt = numberFormats.get(key);
if (!fmt) {
fmt = new Intl.NumberFormat(locale?.numbers, numberOptions(locale, { maximumFractionDigits: digits }));
numberFormats.set(key, fmt);
}
return fmt.format(value);
}
function scaled(value, units, locale) {
for (const [below, divisor, digits, unit] of units) {
const shown = Number((Math.abs(value) / divisor).toFixed(digits)) * divisor;
if (shown < below) return `${number(value / divisor, digits, locale)} ${unit}`;
}
throw new RangeError('the last unit must take any value');
}
const POWER_UNITS = [[10, 1, 1, 'W'], [1000, 1, 0, 'W'], [10000, 1000, 2, 'kW'], [Infinity, 1000, 1, 'kW']];
const ENERGY_UNITS = [[10, 1, 3, 'kWh'], [1000, 1, 1, 'kWh'], [Infinity, 1, 0, 'kWh']];
export function formatPower(watts, locale) {
if (watts === null || watts === undefined || !Number.isFinite(watts)) return '—';
return scaled(watts, POWER_UNITS, locale);
}
export function formatEnergy(kwh, locale) {
if (kwh === null || kwh === undefined || !Number.isFinite(kwh)) return '—';
return scaled(kwh, ENERGY_UNITS, locale);
}
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
export function formatDateTime(unix, timeZone, locale) {
return dateFormat(locale?.dates, {
timeZone, year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit',
}).format(unix * 1000);
}
export function formatBucket(unix, bucket, timeZone, locale) {
const options = bucket === 'day'
? { timeZone, month: 'short', day: 'numeric' }
: bucket === 'hour'
? { timeZone, weekday: 'short', hour: '2-digit', minute: '2-digit' }
: { timeZone, hour: '2-digit', minute: '2-digit' };
return dateFormat(locale?.dates, options).format(unix * 1000);
}
export function formatWeekday(unix, timeZone, locale) {
return dateFormat(locale?.dates, { timeZone, weekday: 'short', month: 'short', day: 'numeric' }).format(unix * 1000);
}
export function formatBucketLong(unix, bucket, timeZone, locale, zone) {
const options = bucket === 'day'
? { timeZone, weekday: 'short', year: 'numeric', month: 'short', day: 'numeric' }
: { timeZone, weekday: 'short', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' };
if (zone) options.timeZoneName = zone;
return dateFormat(locale?.dates, options).format(unix * 1000);
}
function repeated(names) {
const seen = new Set();
const twice = new Set();
for (const name of names) (seen.has(name) ? twice : seen).add(name);
return twice;
}
export function bucketNames(starts, bucket, timeZone, locale) {
let names = starts.map((unix) => formatBucketLong(unix, bucket, timeZone, locale));
for (const zone of ['short', 'shortOffset']) {
const twice = repeated(names);
if (twice.size === 0) break;
names = names.map((name, i) => (twice.has(name) ? formatBucketLong(starts[i], bucket, timeZone, locale, zone) : name));
}
return names;
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
function utcOffset(unix, timeZone) {
const { day, minute } = localClock(unix, timeZone);
return day * 86400 + minute * 60 - (unix - (((unix % 60) + 60) % 60));
}
export function hourStart(unix, timeZone) {
const offset = utcOffset(unix, timeZone);
let before = unix - ((((unix + offset) % 3600) + 3600) % 3600);
if ((utcOffset(before, timeZone) - offset) % 3600 === 0) return before;
let after = unix;
while (after - before > 1) {
const middle = Math.floor((before + after) / 2);
if (utcOffset(middle, timeZone) === offset) after = middle;
else before = middle;
}
return after;
}
export function formatAge(seconds) {
const units = [['day', 86400], ['hour', 3600], ['minute', 60]];
for (const [name, size] of units) {
const count = Math.floor(seconds / size);
if (count >= 1) return `${count} ${name}${count === 1 ? '' : 's'}`;
}
return 'less than a minute';
}
