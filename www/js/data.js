/** Data room: fetch manifest.json and the level files it lists, and check them against powerstats/1. */

export const FORMAT_MAJOR = 1;
export const LEVELS = ['daily', 'weekly', 'monthly', 'yearly'];
export const BUCKET_OF_LEVEL = { daily: '10min', weekly: 'hour', monthly: 'day', yearly: 'day' };
export const NOMINAL_SECONDS = { '10min': 600, hour: 3600, day: 86400 };
export const REQUIRED_COLUMNS = ['start', 'kwh', 'mean_w', 'min_w', 'max_w', 'coverage'];

const METER_ID = /^[a-z0-9_-]{1,32}$/;
const FILE_PATH = /^[a-z0-9_-]{1,32}\/(daily|weekly|monthly|yearly)\.json$/;
const SHA256 = /^[0-9a-f]{64}$/;
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?([+-]\d{2}:\d{2}|Z)$/;
const COLUMN = /^[a-z][a-z0-9_]*$/;
// The last second of 9999: later times have no date to show (Intl throws on them).
const LATEST_START = 253402300799;
// What a bucket measures (and costs): null where its coverage is 0, so charts show a gap.
const MEASUREMENTS = ['kwh', 'mean_w', 'min_w', 'max_w', 'cost'];
// No measurement may be larger, as in the integration's import: far beyond any meter, and far
// below where a chart's scale or a year of sums overflows (a scale to 1.7e308 never finishes).
const LARGEST = 1e15;

/** A problem with the data, worded for the person looking at the dashboard. */
export class DataError extends Error {}

function fail(where, what) {
  throw new DataError(`${where}: ${what}. The data source may be damaged; ask its owner to rebuild the views.`);
}

function isObject(value) {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Refuse anything that is not powerstats/<the major this dashboard knows>. */
export function checkFormat(value, where) {
  const match = typeof value === 'string' ? /^powerstats\/(\d+)$/.exec(value) : null;
  if (!match) {
    throw new DataError(`${where} is not PowerStats data (its format is ${JSON.stringify(value)}); check the address the dashboard reads from.`);
  }
  const major = Number(match[1]);
  if (major !== FORMAT_MAJOR) {
    throw new DataError(`this dashboard understands powerstats/${FORMAT_MAJOR}; the data is powerstats/${major} — update the dashboard`);
  }
}

/** Unix seconds of a contract timestamp ("2026-11-27T00:05:03+01:00"). */
export function parseTimestamp(value, where) {
  if (typeof value !== 'string' || !TIMESTAMP.test(value) || Number.isNaN(Date.parse(value))) {
    fail(where, `${JSON.stringify(value)} is not a timestamp`);
  }
  return Date.parse(value) / 1000;
}

function parseFileEntry(entry, level, meterId) {
  const where = `manifest.json, meter ${meterId}, ${level}`;
  if (!isObject(entry)) fail(where, 'the file entry is not an object');
  // Only contract paths: a hostile manifest must not steer the dashboard to other URLs.
  if (typeof entry.path !== 'string' || !FILE_PATH.test(entry.path)) {
    fail(where, `the path ${JSON.stringify(entry.path)} is not a PowerStats file path`);
  }
  if (typeof entry.sha256 !== 'string' || !SHA256.test(entry.sha256)) fail(where, 'the sha256 is missing or malformed');
  if (!Number.isInteger(entry.bytes) || entry.bytes < 0) fail(where, 'the byte count is not a whole number');
  return { path: entry.path, sha256: entry.sha256, bytes: entry.bytes, updated: parseTimestamp(entry.updated, where) };
}

function parseMeter(meter, index) {
  const where = `manifest.json, meter #${index + 1}`;
  if (!isObject(meter)) fail(where, 'the entry is not an object');
  if (typeof meter.id !== 'string' || !METER_ID.test(meter.id)) fail(where, 'the id is missing or malformed');
  if (typeof meter.name !== 'string' || meter.name.length === 0) fail(where, 'the name is missing');
  if (typeof meter.timezone !== 'string' || meter.timezone.length === 0) fail(where, 'the time zone is missing');
  if (!isObject(meter.files)) fail(where, 'the list of files is missing');
  const files = {};
  for (const [level, entry] of Object.entries(meter.files)) {
    if (!LEVELS.includes(level)) fail(where, `${JSON.stringify(level)} is not a level`);
    files[level] = parseFileEntry(entry, level, meter.id);
  }
  return {
    id: meter.id,
    name: meter.name,
    entityId: typeof meter.entity_id === 'string' ? meter.entity_id : '',
    timezone: meter.timezone,
    currency: typeof meter.currency === 'string' ? meter.currency : null,
    kind: meter.kind === 'energy' ? 'energy' : 'power',
    files,
  };
}

/** The manifest as the dashboard uses it; throws DataError naming the first thing that is wrong. */
export function parseManifest(doc) {
  if (!isObject(doc)) fail('manifest.json', 'it is not a JSON object');
  checkFormat(doc.format, 'manifest.json');
  if (typeof doc.maintenance !== 'boolean') fail('manifest.json', '"maintenance" is not true or false');
  if (!Array.isArray(doc.meters)) fail('manifest.json', '"meters" is not a list');
  const refresh = doc.refresh_seconds;
  const meters = doc.meters.map(parseMeter);
  if (new Set(meters.map((m) => m.id)).size !== meters.length) fail('manifest.json', 'two meters share an id');
  return {
    generated: parseTimestamp(doc.generated, 'manifest.json, generated'),
    maintenance: doc.maintenance,
    refreshSeconds: Number.isInteger(refresh) && refresh >= 1 ? refresh : null,
    meters,
  };
}

/** A level file as the dashboard uses it: columns looked up by name, rows checked cell by cell. */
export function parseLevelFile(doc, level, meterId, path) {
  if (!isObject(doc)) fail(path, 'it is not a JSON object');
  checkFormat(doc.format, path);
  if (doc.level !== level) fail(path, `it holds level ${JSON.stringify(doc.level)}, not ${level}`);
  if (doc.bucket !== BUCKET_OF_LEVEL[level]) fail(path, `its bucket ${JSON.stringify(doc.bucket)} does not belong to level ${level}`);
  if (!isObject(doc.meter) || doc.meter.id !== meterId) fail(path, `it belongs to another meter than ${meterId}`);
  if (typeof doc.timezone !== 'string' || doc.timezone.length === 0) fail(path, 'the time zone is missing');
  const columns = doc.columns;
  // The contract's names only: they go into the CSV download, where `=…` would be a formula.
  if (!Array.isArray(columns) || !columns.every((c) => typeof c === 'string' && COLUMN.test(c))) {
    fail(path, '"columns" is not a list of names');
  }
  const col = {};
  columns.forEach((name, i) => {
    // Cells are looked up by name: of two columns with one name, one would be ignored unseen.
    if (Object.hasOwn(col, name)) fail(path, `the column ${name} appears twice`);
    col[name] = i;
  });
  for (const name of REQUIRED_COLUMNS) if (!(name in col)) fail(path, `the column ${name} is missing`);
  if (!Array.isArray(doc.rows)) fail(path, '"rows" is not a list');
  const measured = MEASUREMENTS.filter((name) => name in col).map((name) => col[name]);
  let previous = -Infinity;
  // Plain loops: a year of rows is checked on the way to the first chart.
  for (let r = 0; r < doc.rows.length; r += 1) {
    const row = doc.rows[r];
    if (!Array.isArray(row) || row.length !== columns.length) fail(path, `row ${r + 1} does not have one cell per column`);
    const start = row[col.start];
    if (!Number.isInteger(start) || start < 0 || start > LATEST_START) fail(path, `row ${r + 1} starts at no time a date can show`);
    if (start <= previous) fail(path, `row ${r + 1} is not in increasing order of start`);
    previous = start;
    for (let c = 0; c < row.length; c += 1) {
      const cell = row[c];
      if (c !== col.start && cell !== null && !(typeof cell === 'number' && Number.isFinite(cell))) {
        fail(path, `row ${r + 1}, column ${columns[c]} is not a number`);
      }
    }
    for (const c of measured) {
      if (Math.abs(row[c]) > LARGEST) fail(path, `row ${r + 1}, column ${columns[c]} holds a number too large to be real`);
    }
    const coverage = row[col.coverage];
    if (typeof coverage !== 'number' || coverage < 0 || coverage > 1) fail(path, `row ${r + 1} has a coverage outside 0..1`);
    if (coverage === 0 && measured.some((c) => row[c] !== null)) fail(path, `row ${r + 1} has no coverage but has measurements`);
  }
  return {
    level,
    bucket: doc.bucket,
    timezone: doc.timezone,
    generated: parseTimestamp(doc.generated, `${path}, generated`),
    // The currency of this file's cost column; the manifest's is the meter's as of its writing.
    currency: typeof doc.currency === 'string' && doc.currency.length > 0 ? doc.currency : null,
    columns,
    col,
    rows: doc.rows,
  };
}

/**
 * Which meter and level to show: the wished ones when the manifest has them, else the first
 * meter and its first published level. `levels` are that meter's published levels, in order.
 */
export function chooseView(manifest, meterId, level) {
  const meter = manifest.meters.find((m) => m.id === meterId) ?? manifest.meters[0] ?? null;
  const levels = meter ? LEVELS.filter((l) => l in meter.files) : [];
  return { meter, levels, level: levels.includes(level) ? level : (levels[0] ?? null) };
}

/**
 * Start reading manifest.json, then the file of the view that would be shown (the wished meter
 * and level, as chooseView settles them; read early when the address names both), before the
 * rest of the page is loaded; returns the manifest read. The dashboard's own reads of the same
 * things join these requests.
 */
export function readAhead(source, meterId, level) {
  source.readEarly(meterId, level);
  const firstManifest = source.manifest();
  firstManifest
    .then((manifest) => {
      const view = chooseView(manifest, meterId, level);
      return view.level ? source.level(view.meter, view.level) : null;
    })
    // Failures are reported when the dashboard reads the same things, not as stray rejections.
    .catch(() => {});
  return firstManifest;
}

/** Whether `bytes` are the file the manifest's `entry` names: by size everywhere, and by hash
 * where the browser can compute it (`digest` null where it cannot). */
function matches(entry, bytes, digest) {
  return bytes.byteLength === entry.bytes && (digest === null || digest === entry.sha256);
}

/** Hex sha256 of some bytes, or null where the browser keeps crypto.subtle to secure pages. */
export async function sha256Hex(buffer) {
  if (!globalThis.crypto?.subtle) return null;
  const digest = await globalThis.crypto.subtle.digest('SHA-256', buffer);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
}

/** The page's own fetch: data lives beside the dashboard, by relative path. */
export function relativeFetch(path, init = {}) {
  return fetch(path, { cache: 'no-cache', credentials: 'same-origin', ...init });
}

// How long a read (its answer and its body) may take before it is abandoned: less than the
// shortest interval between re-reads (30 s), so a source that never answers cannot stop them.
const READ_TIMEOUT_SECONDS = 20;

/** The response to a read of `path`; a 304 counts as an answer only to a conditional read. */
async function fetchResponse(fetchFile, path, init) {
  const abort = new AbortController();
  // Left running once answered: aborting a finished read does nothing, and it also bounds the body.
  setTimeout(() => abort.abort(new Error(`it took longer than ${READ_TIMEOUT_SECONDS} s`)), READ_TIMEOUT_SECONDS * 1000);
  let response;
  try {
    response = await fetchFile(path, { ...init, signal: abort.signal });
  } catch (error) {
    throw new DataError(`${path} could not be fetched (${error.message}); check that the data source is reachable.`);
  }
  if (!response.ok && !(init && response.status === 304)) {
    throw new DataError(`${path} could not be fetched (HTTP ${response.status}); check that the data source serves it.`);
  }
  return response;
}

/** The body of `response`; a connection dropped halfway is a failed read like any other. */
async function bodyOf(response, path) {
  try {
    return await response.arrayBuffer();
  } catch (error) {
    throw new DataError(`${path} was cut off while it was fetched (${error.message}); check that the data source is reachable.`);
  }
}

async function fetchBytes(fetchFile, path, init) {
  return bodyOf(await fetchResponse(fetchFile, path, init), path);
}

/**
 * The request options that ask the server for the manifest only if it changed since `read`
 * (none when the server gave no validator). They bypass the browser's cache, so a 304 reaches
 * the page as it is, and the page need not even parse the manifest again.
 */
function conditionalInit(read) {
  const headers = {};
  if (read.etag) headers['If-None-Match'] = read.etag;
  else if (read.lastModified) headers['If-Modified-Since'] = read.lastModified;
  else return undefined;
  return { cache: 'no-store', headers };
}

function decodeJson(buffer, path) {
  try {
    return JSON.parse(new TextDecoder().decode(buffer));
  } catch {
    return fail(path, 'it is not valid JSON');
  }
}

// Parsed files kept for going back to a meter without fetching: those of the last few meters
// shown, not of every one of 200 someone looked through.
const KEPT_FILES = 32;

/**
 * Reads the data through one fetch function (the page's own, or one the host injects) and keeps
 * the last good copy of each file, so a file that fails its checksum never replaces good data.
 */
export class DataSource {
  constructor(fetchFile = relativeFetch) {
    this.fetchFile = fetchFile;
    this.files = new Map(); // path → {sha256, file}, the least recently used first
    this.pending = new Map(); // "path@sha256" → the request under way
    this.verified = null; // true/false once a file was fetched: could the browser check hashes?
    this.lastManifest = null; // {manifest, etag, lastModified} of the last good read
    this.early = null; // {path, bytes}: a level file read before the manifest named it
  }

  /**
   * Start reading `<meterId>/<level>.json` (the layout of every host, docs/data-format.md)
   * before the manifest is in, so that a first view's two reads travel side by side, not one
   * after the other (in the HA panel, whose manifest read starts late, its chart comes 0.07 of
   * the before page's time sooner: docs/benchmarks.md). The bytes count only if the manifest
   * then lists that path with their size and checksum; anything else is read again.
   */
  readEarly(meterId, level) {
    if (!LEVELS.includes(level) || !METER_ID.test(meterId ?? '')) return;
    const path = `${meterId}/${level}.json`;
    this.early = { path, bytes: fetchBytes(this.fetchFile, path).catch(() => null) };
  }

  /**
   * The early read's bytes if it was of `path` (null when it failed). Only the first file read
   * after it may have it: that is the view's, and a view the manifest settled otherwise has no
   * use for it, so it is not kept any longer either way.
   */
  takeEarly(path) {
    const { early } = this;
    this.early = null;
    return early?.path === path ? early.bytes : null;
  }

  /** The manifest; a re-read the server answers 304 returns the same object as the last one. */
  async manifest() {
    const last = this.lastManifest;
    const init = last ? conditionalInit(last) : undefined;
    const response = await fetchResponse(this.fetchFile, 'manifest.json', init);
    if (response.status === 304) return last.manifest;
    const manifest = parseManifest(decodeJson(await bodyOf(response, 'manifest.json'), 'manifest.json'));
    const { headers } = response;
    this.lastManifest = { manifest, etag: headers.get('ETag'), lastModified: headers.get('Last-Modified') };
    return manifest;
  }

  /**
   * {file, note}: file is null when nothing good is available; note explains what went wrong.
   * Callers asking for the same file version at once share one request.
   */
  level(meter, level) {
    const entry = meter.files[level];
    const key = `${entry.path}@${entry.sha256}`;
    let request = this.pending.get(key);
    if (!request) {
      request = this.readLevel(meter, level, entry).finally(() => this.pending.delete(key));
      this.pending.set(key, request);
    }
    return request;
  }

  keep(path, kept) {
    this.files.delete(path);
    this.files.set(path, kept);
    if (this.files.size > KEPT_FILES) this.files.delete(this.files.keys().next().value);
  }

  async readLevel(meter, level, entry) {
    const kept = this.files.get(entry.path);
    if (kept) this.keep(entry.path, kept);
    if (kept && kept.sha256 === entry.sha256) return { file: kept.file, note: null };
    let note = null;
    try {
      let bytes = await this.takeEarly(entry.path);
      let digest = bytes && (await sha256Hex(bytes));
      if (!bytes || !matches(entry, bytes, digest)) {
        // A copy is kept and the manifest names another version: no cached copy may answer,
        // not even one a server revalidates by a Last-Modified to the second (a file rewritten
        // within the second it was last written would get a 304).
        bytes = await fetchBytes(this.fetchFile, entry.path, kept ? { cache: 'reload' } : undefined);
        digest = await sha256Hex(bytes);
      }
      this.verified = digest !== null;
      if (!matches(entry, bytes, digest)) {
        note = `${entry.path} does not match its size or checksum in the manifest, so it was ignored; it is probably being rewritten — reload in a minute.`;
      } else {
        const file = parseLevelFile(decodeJson(bytes, entry.path), level, meter.id, entry.path);
        this.keep(entry.path, { sha256: entry.sha256, file });
        return { file, note: null };
      }
    } catch (error) {
      if (!(error instanceof DataError)) throw error;
      note = error.message;
    }
    return { file: kept ? kept.file : null, note };
  }
}
