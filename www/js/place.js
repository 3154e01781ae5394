/**
 * Place room: the meter and level the page's address names, and the meter this browser showed
 * last. The stand-alone page keeps them in the hash (#meter=house&level=yearly); the HA panel in
 * the query (/powerstats?meter=house&level=yearly), beside whatever else HA keeps there.
 */

const REMEMBERED = 'powerstats.meter';

function params(mode) {
  if (mode === 'hash') return new URLSearchParams(globalThis.location.hash.slice(1));
  if (mode === 'query') return new URLSearchParams(globalThis.location.search);
  return new URLSearchParams();
}

/** {meter, level} from the address (each null when absent). */
export function readPlace(mode) {
  const found = params(mode);
  return { meter: found.get('meter'), level: found.get('level') };
}

/** Put the meter and level in the address without adding a history entry. */
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
  // Keep the host's own history state (HA keeps its dialogs there).
  history.replaceState(history.state, '', url);
}

/** The meter this browser showed last, or null (also where storage is blocked). */
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
    // Storage blocked or full: the address still names the meter.
  }
}

/** The meter to open: the one the address names, else the one shown last. */
export function wishedMeter(mode) {
  return readPlace(mode).meter ?? rememberedMeter();
}
