const REMEMBERED = 'powerstats.meter';
function params(mode) {
if (mode === 'hash') return new URLSearchParams(globalThis.location.hash.slice(1));
if (mode === 'query') return new URLSearchParams(globalThis.location.search);
return new URLSearchParams();
}
export function readPlace(mode) {
const found = params(mode);
return { meter: found.get('meter'), level: found.get('level') };
}
export function writePlace(mode, meter, level) {
const { location, history } = globalThis;
let url;
if (mode === 'hash') {
url = `#meter=${encodeURIComponent(meter)}&level=${encodeURIComponent(level)}`;
if (location.hash === url) return;
} else if (mode === 'query') {
const query = new URLSearchParams(location.search);
query.set('meter', meter);
query.set('level', level);
url = `${location.pathname}?${query}${location.hash}`;
if (`${location.pathname}${location.search}${location.hash}` === url) return;
} else {
return;
}
history.replaceState(history.state, '', url);
}
export function rememberedMeter() {
try {
return globalThis.localStorage?.getItem(REMEMBERED) ?? null;
} catch {
return null;
}
}
export function rememberMeter(meterId) {
try {
globalThis.localStorage?.setItem(REMEMBERED, meterId);
} catch {
}
}
export function wishedMeter(mode) {
return readPlace(mode).meter ?? rememberedMeter();
}
