/** Dashboard room: builds the page inside a root element and keeps it in step with the data. */

import {
  DrawReplaced, averagesChartConfig, destroyChart, drawChart, loadChartJs, mainChartConfig,
  themeColors, warmUp,
} from './charts.js';
import { BUCKET_OF_LEVEL, DataError, DataSource, LEVELS, chooseView, relativeFetch } from './data.js';
import {
  bucketNames, formatAge, formatBucketLong, formatCost, formatDateTime, formatEnergy, formatPower,
  knownTimeZone,
} from './format.js';
import { readPlace, rememberMeter, wishedMeter, writePlace } from './place.js';
import {
  calendarPeriod, dailyAverageKwh, previousPeriod, summarize, toCsv, withRows,
} from './stats.js';

/**
 * What each level's tab shows, named for the period it covers. Today and This week are the
 * calendar periods Home Assistant's sensors "Energy today" and "Energy this week" count (from
 * local midnight, from Monday 00:00), so the same words give the same numbers; the day levels
 * are rolling windows of local days and say so.
 */
const VIEWS = {
  daily: {
    tab: 'Today', unit: 'day', period: 'today', of: ' today', since: 'since midnight', previous: 'Yesterday',
    nothing: 'Nothing has been measured today yet.',
    caption: 'Mean power per 10 minutes today, from midnight',
  },
  weekly: {
    tab: 'This week', unit: 'week', period: 'this week', of: ' this week', since: 'since midnight on Monday', previous: 'Last week',
    nothing: 'Nothing has been measured this week yet.',
    caption: 'Mean power per hour this week, from midnight on Monday',
  },
  monthly: {
    tab: 'Last 30 days', period: 'the last 30 days', of: ', last 30 days', since: '30 days up to today',
    nothing: 'Nothing was measured in the last 30 days.',
    caption: 'Energy per day, last 30 days (today so far included)',
  },
  yearly: {
    tab: 'Last 365 days', period: 'the last 365 days', of: ', last 365 days', since: '365 days up to today',
    nothing: 'Nothing was measured in the last 365 days.',
    caption: 'Energy per day, last 365 days (today so far included)',
  },
};
const BUCKET_NAMES = { '10min': '10-minute mean', hour: 'hourly mean', day: 'daily mean' };
// How old data may get before the page warns, when the manifest does not say how often it is
// refreshed: a 10-minute view is refreshed as each bucket closes, day views at least nightly.
const DEFAULT_MAX_AGE = { daily: 30 * 60, weekly: 2 * 3600, monthly: 26 * 3600, yearly: 26 * 3600 };
const DEFAULT_REFRESH_SECONDS = 300;

/** Whether a promise has settled already: true when it had, false while it is pending. */
async function settled(promise) {
  let done = false;
  promise.then(() => { done = true; }, () => { done = true; });
  await null; // callbacks on a settled promise run first, in the order they were added
  return done;
}

/** The cost card's note: its period, and how much of the covered time had a known price. */
function costNote(summary, view) {
  if (summary.coveredSeconds === 0 || summary.pricedShare >= 0.995) return view.since;
  if (summary.cost === null) return `${view.since}; no price known for it`;
  const share = Math.round(summary.pricedShare * 100);
  return `${view.since}; price known for ${share < 1 ? 'less than 1' : share}% of the covered time`;
}

/**
 * A message from the data room as a sentence: with a capital letter, unless its first word is a
 * file's name (manifest.json stays as it is spelt on the server).
 */
function asSentence(message) {
  return /^[a-z]+ /.test(message) ? message.charAt(0).toUpperCase() + message.slice(1) : message;
}

/** A DOM element from a tag, attributes and children; text always goes in as text, never as HTML. */
function el(tag, attrs = {}, children = []) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (name === 'text') node.textContent = value;
    else if (name === 'class') node.className = value;
    else if (value !== false && value !== null && value !== undefined) node.setAttribute(name, value === true ? '' : value);
  }
  for (const child of children) node.append(child);
  return node;
}

class Dashboard {
  constructor(root, { fetchFile = relativeFetch, source, firstManifest, place = 'hash', locale } = {}) {
    this.root = root;
    this.source = source ?? new DataSource(fetchFile);
    this.firstManifest = firstManifest ?? null; // a read of manifest.json already under way
    this.place = place; // where the address keeps meter and level: 'hash', 'query' or 'none'
    this.locale = locale; // how dates and numbers are written (see format.js); the browser's if unset
    this.manifest = null;
    this.meterId = null;
    this.level = null;
    this.compare = false;
    this.file = null;
    this.others = null; // every loaded file of the current meter, for averages and the overlay
    this.notes = new Map(); // path or topic → its line under the charts
    this.drawnKey = null;
    this.shown = null; // "meter|level" the table and the Compare box were last set up for
    this.token = 0;
    this.timer = null;
    this.ageTimer = null;
    this.reads = 0;
    this.destroyed = false;
    this.colors = null; // the theme's colours as the page's CSS resolves them, once read
    this.picker = null; // the meter picker, once a manifest lists two meters (see syncPicker)
    this.pickerLoad = null;
    this.build();
    this.onHash = () => this.placeChanged();
    this.darkQuery = globalThis.matchMedia?.('(prefers-color-scheme: dark)');
    this.onScheme = () => this.themeChanged();
  }

  build() {
    const ui = {};
    ui.title = el('h1', { class: 'ps-title', text: 'PowerStats' });
    ui.meterName = el('span', { class: 'ps-meter-name' });
    ui.error = el('div', { class: 'ps-banner ps-banner-error', role: 'alert', hidden: true });
    ui.maintenance = el('div', {
      class: 'ps-banner ps-banner-warn', role: 'status', hidden: true,
      text: 'Maintenance: PowerStats is being worked on, so the data may stop updating or show gaps for a while.',
    });
    ui.stale = el('div', { class: 'ps-banner ps-banner-warn', role: 'status', hidden: true });
    // Hidden while it has no tab: an empty tablist is an error to assistive technology.
    ui.tabs = el('div', { class: 'ps-tabs', role: 'tablist', 'aria-label': 'Period', hidden: true });
    ui.levelsNote = el('p', { class: 'ps-muted ps-levels-note', hidden: true });
    ui.cards = el('div', { class: 'ps-cards', role: 'list' });
    ui.compare = el('input', { type: 'checkbox', id: 'ps-compare' });
    ui.compareNote = el('span', { class: 'ps-muted' });
    ui.csv = el('button', { type: 'button', class: 'ps-button', id: 'ps-csv', text: 'Download CSV' });
    ui.mainCaption = el('figcaption');
    ui.mainCanvas = el('canvas', { role: 'img' });
    ui.backfill = el('p', { class: 'ps-muted ps-backfill', hidden: true });
    ui.mainTable = el('details', { class: 'ps-table' }, [el('summary', { text: 'Show the data as a table' })]);
    ui.main = el('figure', { class: 'ps-figure', id: 'ps-main' }, [
      ui.mainCaption, el('div', { class: 'ps-canvas-box' }, [ui.mainCanvas]), ui.backfill, ui.mainTable,
    ]);
    ui.avgCanvas = el('canvas', { role: 'img' });
    ui.averages = el('figure', { class: 'ps-figure', id: 'ps-averages', hidden: true }, [
      el('figcaption', { text: 'Average energy per day, by period' }),
      el('div', { class: 'ps-canvas-box ps-canvas-small' }, [ui.avgCanvas]),
    ]);
    ui.empty = el('p', { class: 'ps-empty', hidden: true });
    ui.panel = el('section', { class: 'ps-panel', role: 'tabpanel', id: 'ps-panel', hidden: true }, [
      ui.cards,
      ui.toolbar = el('div', { class: 'ps-toolbar' }, [
        ui.compareLabel = el('label', { class: 'ps-check' }, [ui.compare, el('span', { text: 'Compare with previous period' })]),
        ui.compareNote, ui.csv,
      ]),
      ui.empty, ui.main, ui.averages,
    ]);
    ui.asOf = el('p', { class: 'ps-asof' });
    ui.notes = el('ul', { class: 'ps-notes', role: 'status' });
    ui.status = el('p', { class: 'ps-muted ps-loading', text: 'Loading…' });
    this.root.replaceChildren(el('div', { class: 'ps', 'data-state': 'loading' }, [
      ui.header = el('header', { class: 'ps-header' }, [ui.title, ui.meterName]),
      ui.status, ui.error, ui.maintenance, ui.stale, ui.tabs, ui.levelsNote, ui.panel,
      el('footer', { class: 'ps-footer' }, [ui.asOf, ui.notes]),
    ]));
    this.page = this.root.firstElementChild;
    this.ui = ui;

    ui.compare.addEventListener('change', () => { this.compare = ui.compare.checked; this.drawMain(); });
    ui.csv.addEventListener('click', () => this.downloadCsv());
    ui.tabs.addEventListener('keydown', (event) => this.tabKey(event));
    ui.mainTable.addEventListener('toggle', () => this.fillTable());
  }

  async start() {
    this.readPlace();
    if (this.place === 'hash') globalThis.addEventListener('hashchange', this.onHash);
    this.darkQuery?.addEventListener('change', this.onScheme);
    await this.refresh();
  }

  destroy() {
    this.destroyed = true;
    clearTimeout(this.timer);
    clearTimeout(this.ageTimer);
    this.token += 1;
    globalThis.removeEventListener('hashchange', this.onHash);
    this.darkQuery?.removeEventListener('change', this.onScheme);
    destroyChart(this.ui.mainCanvas);
    destroyChart(this.ui.avgCanvas);
  }

  /** Write dates and numbers another way (the viewer changed their settings): all is drawn again. */
  setLocale(locale) {
    this.locale = locale;
    if (!this.manifest || this.destroyed) return;
    this.drawnKey = null;
    this.showView();
  }

  /** Re-read the manifest, then show the current view; again after the writer's refresh interval. */
  async refresh() {
    clearTimeout(this.timer);
    try {
      // Armed once the manifest is read, not once the view is shown: whatever fails or takes
      // long after it, the page reads again later, and the next version may be good.
      await this.readManifest().finally(() => this.schedule());
      if (this.manifest && this.ui.error.hidden) await this.showView();
    } finally {
      // How many reads of the manifest are done and shown: something to wait on, for tests and tools.
      this.page.dataset.reads = String(++this.reads);
    }
  }

  schedule() {
    if (this.destroyed) return; // detached while reading (HA switched panels): stop polling
    const every = Math.min(Math.max(this.manifest?.refreshSeconds ?? DEFAULT_REFRESH_SECONDS, 30), 900);
    this.timer = setTimeout(() => this.refresh(), every * 1000);
  }

  async readManifest() {
    try {
      const reading = this.firstManifest ?? this.source.manifest();
      this.firstManifest = null;
      this.manifest = await reading;
      this.ui.error.hidden = true;
      this.setNote('manifest', null);
    } catch (error) {
      if (!(error instanceof DataError)) throw error;
      // Once something good is on screen, a failed re-read leaves it there, with the reason.
      if (this.file) this.setNote('manifest', `Could not refresh: ${error.message}`);
      else this.showError(error.message);
    }
  }

  showError(message) {
    const { ui } = this;
    // Keep the contract's wording. The banner is an alert: rewritten only when the reason
    // changes, so a screen reader does not read the same failure out again at every retry.
    const text = asSentence(message);
    if (ui.error.textContent !== text) ui.error.textContent = text;
    ui.error.hidden = false;
    this.setBusy(false);
    ui.panel.hidden = true;
    ui.tabs.replaceChildren();
    ui.tabs.hidden = true;
    this.page.dataset.state = 'error';
  }

  /**
   * Take the meter and level the address names, as opening it would: an address that names
   * none is the meter this browser showed last (else the first) and its first level.
   */
  readPlace() {
    const meterId = wishedMeter(this.place);
    const { level } = readPlace(this.place);
    const changed = meterId !== this.meterId || level !== this.level;
    this.meterId = meterId;
    this.level = level;
    return changed && this.manifest !== null;
  }

  /** The address changed (the hash, or the host's navigation): show the view it names. */
  placeChanged() {
    if (this.readPlace()) this.showView();
  }

  writePlace() {
    if (this.meterId && this.level) writePlace(this.place, this.meterId, this.level);
  }

  /** A meter picked by hand: kept in the address (a link opens it) and remembered. */
  chooseMeter(meterId) {
    this.meterId = meterId;
    this.level = chooseView(this.manifest, meterId, this.level).level;
    rememberMeter(meterId);
    this.writePlace();
    this.showView();
  }

  get meter() {
    return this.manifest.meters.find((m) => m.id === this.meterId);
  }

  /** Meter picker and tabs for what the manifest publishes; keeps the choice when it still exists. */
  syncChoices() {
    const { ui, manifest } = this;
    const { meter, levels, level } = chooseView(manifest, this.meterId, this.level);
    this.meterId = meter?.id ?? null;
    this.level = level;
    ui.meterName.textContent = manifest.meters.length === 1 ? manifest.meters[0].name : '';
    if (manifest.meters.length >= 2 || this.picker) {
      this.syncPicker().then(
        () => this.setNote('picker', null),
        () => this.setNote('picker', 'The meter picker could not be loaded; reload the page to choose another meter.'),
      );
    }
    this.syncTabs(levels);
    this.showMissingLevels(meter);
    if (this.level) ui.panel.setAttribute('aria-labelledby', `ps-tab-${this.level}`);
    return levels.length > 0;
  }

  /** One tab per level, changed in place: a tab that has the keyboard's focus keeps it. */
  syncTabs(levels) {
    const { tabs } = this.ui;
    const wanted = levels.map((level) => tabs.querySelector(`[data-level="${level}"]`) ?? this.tab(level));
    if (wanted.length !== tabs.children.length || wanted.some((tab, i) => tabs.children[i] !== tab)) {
      tabs.replaceChildren(...wanted);
    }
    tabs.hidden = wanted.length === 0;
    for (const tab of wanted) {
      const selected = tab.dataset.level === this.level;
      tab.setAttribute('aria-selected', String(selected));
      tab.tabIndex = selected ? 0 : -1;
    }
  }

  tab(level) {
    const tab = el('button', {
      type: 'button', role: 'tab', id: `ps-tab-${level}`, class: 'ps-tab', 'data-level': level,
      'aria-controls': 'ps-panel', text: VIEWS[level].tab,
    });
    tab.addEventListener('click', () => this.selectLevel(level));
    return tab;
  }

  /**
   * The meter picker, for two meters or more: loaded on first need, so a one-meter page never
   * fetches it. It shows whatever manifest and meter are current once it is in.
   */
  async syncPicker() {
    this.pickerLoad ??= import('./picker.js').then(({ MeterPicker }) => {
      this.picker = new MeterPicker({ locale: this.locale?.dates, onChoose: (id) => this.chooseMeter(id) });
      this.ui.header.append(this.picker.element);
    });
    try {
      await this.pickerLoad;
    } catch (error) {
      this.pickerLoad = null; // tried again at the next refresh
      throw error;
    }
    const { meters } = this.manifest;
    this.picker.element.hidden = meters.length < 2;
    this.picker.setMeters(meters);
    this.picker.setChosen(meters.find((m) => m.id === this.meterId) ?? null);
  }

  /** Levels the meter does not publish get no tab; one line says which and why. */
  showMissingLevels(meter) {
    const missing = meter ? LEVELS.filter((level) => !(level in meter.files)) : [];
    const { levelsNote } = this.ui;
    levelsNote.hidden = missing.length === 0 || missing.length === LEVELS.length;
    if (levelsNote.hidden) return;
    const names = missing.map((level) => VIEWS[level].tab);
    const list = names.length > 1 ? `${names.slice(0, -1).join(', ')} and ${names.at(-1)}` : names[0];
    const private_ = missing.includes('daily') || missing.includes('weekly')
      ? ': 10-minute and hourly data show when someone is home, so PowerStats keeps them private unless its owner publishes them'
      : '';
    levelsNote.textContent = `${list} ${names.length > 1 ? 'are' : 'is'} not shown because this source does not publish ${names.length > 1 ? 'them' : 'it'}${private_}.`;
  }

  selectLevel(level) {
    this.level = level;
    this.writePlace();
    this.showView();
  }

  tabKey(event) {
    const tabs = [...this.ui.tabs.querySelectorAll('[role="tab"]')];
    const at = tabs.findIndex((t) => t.dataset.level === this.level);
    const moves = { ArrowRight: at + 1, ArrowLeft: at - 1, Home: 0, End: tabs.length - 1 };
    if (!(event.key in moves) || tabs.length === 0) return;
    event.preventDefault();
    const next = tabs[(moves[event.key] + tabs.length) % tabs.length];
    next.focus(); // at once, not once its file is in
    this.selectLevel(next.dataset.level);
  }

  /**
   * The note on a topic, or none. The list is a live region: only a note that changes is
   * touched, so a screen reader does not read out the same notes again at each re-read.
   */
  setNote(topic, text) {
    const line = this.notes.get(topic);
    if (!text) {
      line?.remove();
      this.notes.delete(topic);
    } else if (!line) {
      this.notes.set(topic, this.ui.notes.appendChild(el('li', { text })));
    } else if (line.textContent !== text) {
      line.textContent = text;
    }
  }

  /**
   * While another view's file is on its way, what is on screen is still the view before:
   * "Loading…" says so, and aria-busy tells assistive technology to wait for the new one.
   */
  setBusy(busy) {
    this.ui.status.hidden = !busy;
    this.ui.panel.setAttribute('aria-busy', String(busy));
  }

  /** Show the chosen meter and level: cards and main chart first, then what needs the other files. */
  async showView() {
    if (this.destroyed) return; // a read that ended after the panel was detached
    const token = ++this.token;
    const { ui, manifest } = this;
    ui.maintenance.hidden = !manifest.maintenance;
    if (!this.syncChoices()) {
      this.showEmpty(manifest.meters.length === 0
        ? 'No meters are published yet. Add a meter in PowerStats, then reload.'
        : 'This meter publishes no levels. Choose which levels to publish in PowerStats.');
      return;
    }
    const meter = this.meter;
    const entry = meter.files[this.level];
    const shown = `${meter.id}|${this.level}`;
    const reading = this.source.level(meter, this.level);
    this.setBusy(shown !== this.shown);
    // While the file is on its way: the first date formatter for the meter's zone (it loads the
    // zone's data) and the page's colours (read afresh for each view; the first read is the
    // first style pass over the new page) take tens of milliseconds; paid now, they are not on
    // the path to the drawn chart.
    const timeZone = knownTimeZone(meter.timezone);
    this.colors = themeColors(this.page);
    const bucket = BUCKET_OF_LEVEL[this.level];
    if (!this.drawnKey && bucket !== 'day') {
      // The first chart is a line, which only Chart.js draws (bars are sketched without it):
      // with it in and the file not yet, run it once meanwhile (see warmUp).
      await loadChartJs().catch(() => {}); // its failure is said where the chart is drawn
      if (!(await settled(reading))) {
        try {
          warmUp(bucket, { colors: this.colors, timeZone, locale: this.locale });
        } catch {
          // Only ever a head start: the real chart is drawn (or its error shown) either way.
        }
      }
    }
    const { file, note } = await reading;
    if (token !== this.token) return;
    this.setNote(entry.path, note);
    this.timeZone = knownTimeZone(meter.timezone);
    this.setNote('timezone', this.timeZone === meter.timezone ? null
      : `This browser does not know the time zone ${meter.timezone}; times are shown in UTC.`);
    if (this.source.verified === false) {
      this.setNote('verify', 'Checksums are not verified here: browsers only allow that on https or localhost.');
    }
    this.showAge();
    if (!file) {
      this.showEmpty(`No data for ${VIEWS[this.level].period} is available right now.`);
      return;
    }
    ui.main.hidden = false;
    ui.toolbar.hidden = false;
    ui.panel.hidden = false;
    const key = `${shown}|${entry.sha256}`;
    let onScreen = null;
    if (key !== this.drawnKey || this.file !== file) {
      this.file = file;
      this.view = this.periodOf(file);
      this.others = null;
      this.drawnKey = key;
      this.renderCards();
      // A period with no bucket measured (a new meter, the minutes after midnight) says so in
      // words, above its empty chart (which may hold the period before, dashed).
      ui.empty.hidden = this.summary.coveredSeconds > 0;
      ui.empty.textContent = ui.empty.hidden ? '' : VIEWS[this.level].nothing;
      onScreen = this.drawMain();
      if (shown !== this.shown) {
        // Another meter or level: new data for the same view leaves the table and the box as
        // they are (and the focus where it is).
        ui.mainTable.open = false;
        ui.compare.disabled = true; // until the other levels are in
        ui.compareNote.textContent = '';
      }
      // Today and This week always show the period before, dashed; the box is for the others.
      ui.compareLabel.hidden = this.view.calendar;
      ui.compareNote.hidden = this.view.calendar;
    }
    if (onScreen) {
      await onScreen;
      if (token !== this.token) return;
    }
    this.shown = shown;
    this.setBusy(false);
    this.page.dataset.state = 'ready';
    this.page.dataset.level = this.level;
    performance.mark(`powerstats:ready:${this.level}`);
    // Not awaited: a slow or stuck file of another level must not hold this view's refresh.
    this.loadOthers(token);
  }

  /**
   * The rows a level's tab is about. Today and This week: the calendar period, drawn whole with
   * the period before dashed; the day levels: the whole file.
   */
  periodOf(file) {
    const unit = VIEWS[file.level].unit;
    if (!unit) return { calendar: false, file, chart: file, previous: null };
    const metric = file.bucket === 'day' ? 'kwh' : 'mean_w';
    const period = calendarPeriod(file, unit, knownTimeZone(file.timezone), metric);
    return { calendar: true, file: withRows(file, period.rows), chart: period.chart, previous: period.previous };
  }

  showEmpty(message) {
    const { ui } = this;
    ui.empty.textContent = message;
    ui.empty.hidden = false;
    ui.panel.hidden = false;
    ui.main.hidden = true;
    ui.averages.hidden = true;
    ui.toolbar.hidden = true; // nothing to compare or download
    ui.cards.replaceChildren();
    this.file = null;
    this.drawnKey = null;
    this.shown = null;
    this.setBusy(false);
    this.page.dataset.state = 'ready';
    this.page.dataset.level = this.level ?? '';
  }

  /** "Data as of …" from the manifest, and a warning when it is older than the writer promised. */
  showAge() {
    const { ui, manifest } = this;
    const generated = manifest.generated;
    ui.asOf.textContent = `Data as of ${formatDateTime(generated, this.timeZone, this.locale)} (${this.timeZone}).`;
    const maxAge = manifest.refreshSeconds ? 2 * manifest.refreshSeconds + 300 : DEFAULT_MAX_AGE[this.level];
    const age = Date.now() / 1000 - generated;
    ui.stale.hidden = age <= maxAge;
    const warning = `The data is older than expected: it was last updated ${formatAge(age)} ago. `
      + 'The source may be offline or not publishing; the charts show what was last received.';
    // A live region: rewritten only when its words change (the age in whole minutes, hours or
    // days), so a screen reader does not read it out again at every re-read.
    if (ui.stale.textContent !== warning) ui.stale.textContent = warning;
    // Judged again when the data would turn stale, not only after a read: reads that fail or
    // hang must not keep the warning away. (At most an hour ahead: a longer timeout overflows.)
    clearTimeout(this.ageTimer);
    if (ui.stale.hidden) this.ageTimer = setTimeout(() => this.showAge(), Math.min(maxAge - age + 1, 3600) * 1000);
  }

  renderCards() {
    const { locale } = this;
    const { file } = this.view;
    const view = VIEWS[this.level];
    const tz = file.timezone === this.meter.timezone ? this.timeZone : knownTimeZone(file.timezone);
    const s = summarize(file);
    this.summary = s;
    const covered = s.closedSeconds > 0 ? Math.round((100 * s.coveredSeconds) / s.closedSeconds) : 0;
    const cards = [
      ['latest', 'Latest power', s.latest?.watts ?? null, formatPower(s.latest?.watts, locale),
        s.latest ? `${BUCKET_NAMES[file.bucket]}, ${this.latestName(s.latest.start, tz)}` : 'no data'],
      ['mean', `Mean power${view.of}`, s.meanW, formatPower(s.meanW, locale),
        s.coveredSeconds > 0 ? `over the covered ${covered}% of the time` : 'no data'],
      ['min', `Lowest power${view.of}`, s.minW, formatPower(s.minW, locale), view.since],
      ['max', `Highest power${view.of}`, s.maxW, formatPower(s.maxW, locale), view.since],
      ['energy', `Energy${view.of}`, s.kwh, formatEnergy(s.kwh, locale), view.since],
    ];
    const share = Math.round(s.backfillShare * 100);
    this.ui.backfill.hidden = s.backfillShare <= 0;
    this.ui.backfill.textContent = `${share < 1 ? 'Less than 1' : share}% of the covered time in this view was rebuilt `
      + "from Home Assistant's recorder (its recorded states where it still keeps them, its hourly statistics "
      + 'before that) rather than tracked live.';
    if (s.hasCost) cards.push(['cost', `Cost${view.of}`, s.cost, formatCost(s.cost, this.currencyOf(file), locale), costNote(s, view)]);
    this.ui.cards.replaceChildren(...cards.map(([stat, label, raw, text, sub]) => el('div', { class: 'ps-card', role: 'listitem', 'data-stat': stat }, [
      el('div', { class: 'ps-card-label', text: label }),
      el('div', { class: 'ps-card-value', 'data-value': raw === null ? '' : String(raw), text }),
      el('div', { class: 'ps-card-sub', text: sub }),
    ])));
  }

  /** The latest bucket's name, as the chart and the table name it (the hour repeated told apart). */
  latestName(start, tz) {
    const { file } = this.view;
    // Only buckets within two hours of it can share its clock time (no clock change is larger):
    // the names of a year of rows are not on the way to the first chart.
    const near = file.rows.map((row) => row[file.col.start]).filter((s) => Math.abs(s - start) <= 7200);
    return bucketNames(near, file.bucket, tz, this.locale)[near.indexOf(start)];
  }

  /**
   * The currency of a file's costs: the one the file names, else the meter's in the manifest.
   * The file's wins where they differ: it was written with its costs, and a manifest written
   * since (after Home Assistant's currency changed) may name another.
   */
  currencyOf(file) {
    return file.currency ?? this.meter.currency;
  }

  previous() {
    if (this.view.calendar) return this.view.previous;
    if (!this.others) return null;
    return previousPeriod(this.file, this.others, this.file.bucket === 'day' ? 'kwh' : 'mean_w');
  }

  /**
   * Draw `config` on `canvas`; settles once a chart is on screen. Chart.js failing to load is
   * said in a note (the sketch, if any, stays).
   */
  paint(canvas, config) {
    const { shown, live } = drawChart(canvas, config);
    live.then(() => this.setNote('charts', null), (error) => {
      if (error instanceof DrawReplaced || this.destroyed) return;
      this.setNote('charts', `The charts could not be loaded (${error.message}); reload the page.`);
    });
    return shown.catch(() => {});
  }

  /** Draw the main chart; settles once it is on screen. */
  drawMain() {
    const { ui } = this;
    if (!this.file) return null;
    const { file, chart, calendar } = this.view;
    const view = VIEWS[this.level];
    const previous = calendar || this.compare ? this.previous() : null;
    const tz = knownTimeZone(file.timezone);
    const names = calendar ? { current: view.tab, previous: view.previous } : {};
    const onScreen = this.paint(ui.mainCanvas, mainChartConfig(chart, previous, {
      colors: this.colors ??= themeColors(this.page), timeZone: tz, locale: this.locale, names,
    }));
    ui.main.dataset.compare = previous ? 'on' : 'off';
    const dashed = calendar ? `, ${view.previous.toLowerCase()} dashed` : ', with the previous period dashed';
    ui.mainCaption.textContent = view.caption + (previous ? dashed : '');
    const s = this.summary;
    const kind = file.bucket === 'day' ? 'Bar chart of energy per day' : 'Line chart of mean power';
    let what = `${kind}, with nothing measured`;
    if (s.coveredSeconds > 0) {
      what = file.bucket === 'day' ? `${kind}, ${formatEnergy(s.kwh, this.locale)} in total`
        : `${kind}, averaging ${formatPower(s.meanW, this.locale)} and peaking at ${formatPower(s.maxW, this.locale)}`;
    }
    const first = file.rows[0];
    const last = file.rows.at(-1);
    const span = first ? `, from ${formatBucketLong(first[file.col.start], file.bucket, tz, this.locale)} to ${formatBucketLong(last[file.col.start], file.bucket, tz, this.locale)}` : '';
    ui.mainCanvas.setAttribute('aria-label', `${what}${span}; ${s.gaps} ${s.gaps === 1 ? 'bucket' : 'buckets'} without data. The table below lists every value.`);
    if (ui.mainTable.open) this.fillTable();
    return onScreen;
  }

  /** The text alternative of the main chart, built only when someone opens it. */
  fillTable() {
    const { ui, locale } = this;
    ui.mainTable.querySelector('table')?.remove();
    if (!ui.mainTable.open || !this.file) return;
    const { file } = this.view;
    const tz = knownTimeZone(file.timezone);
    const hasCost = 'cost' in file.col;
    const currency = this.currencyOf(file);
    const head = ['Time', 'Energy', 'Mean power', 'Lowest', 'Highest', 'Coverage', ...(hasCost ? ['Cost'] : [])];
    const names = bucketNames(file.rows.map((row) => row[file.col.start]), file.bucket, tz, locale);
    const rows = file.rows.map((row, i) => el('tr', {}, [
      el('th', { scope: 'row', text: names[i] }),
      el('td', { text: formatEnergy(row[file.col.kwh], locale) }),
      el('td', { text: formatPower(row[file.col.mean_w], locale) }),
      el('td', { text: formatPower(row[file.col.min_w], locale) }),
      el('td', { text: formatPower(row[file.col.max_w], locale) }),
      el('td', { text: `${Math.round(row[file.col.coverage] * 100)}%` }),
      ...(hasCost ? [el('td', { text: formatCost(row[file.col.cost], currency, locale) })] : []),
    ]));
    // A scrolling box of its own: focusable and named, so the keyboard can scroll it and a
    // screen reader says what it is.
    const box = { class: 'ps-table-scroll', role: 'region', tabindex: '0', 'aria-label': 'Every value of the chart' };
    ui.mainTable.append(el('div', box, [el('table', {}, [
      el('thead', {}, [el('tr', {}, head.map((h) => el('th', { scope: 'col', text: h })))]),
      el('tbody', {}, rows),
    ])]));
  }

  /** The other levels of this meter feed the averages chart and the previous-period overlay. */
  async loadOthers(token) {
    const meter = this.meter;
    const files = [];
    for (const level of LEVELS) {
      if (!(level in meter.files)) continue;
      const { file, note } = await this.source.level(meter, level);
      if (token !== this.token) return;
      this.setNote(meter.files[level].path, note);
      if (file) files.push(file);
    }
    // Which view has all its files in: something to wait on, for tests and tools.
    this.page.dataset.loaded = `${meter.id}/${this.level}`;
    // A re-read that changed none of them leaves the charts as they are.
    const same = this.others?.length === files.length && files.every((f, i) => f === this.others[i]);
    if (same) return;
    this.others = files;
    this.drawAverages();
    const available = this.previous() !== null;
    this.ui.compare.disabled = !available;
    this.ui.compareNote.textContent = available ? '' : '(no earlier data is published for this period)';
    if (this.compare) this.drawMain();
    this.page.dataset.others = 'ready';
  }

  drawAverages() {
    const { ui } = this;
    const averages = this.others
      .map((file) => ({
        level: file.level, label: VIEWS[file.level].tab, kwhPerDay: dailyAverageKwh(this.periodOf(file).file),
      }))
      .filter((a) => a.kwhPerDay !== null);
    ui.averages.hidden = averages.length === 0;
    if (averages.length === 0) return;
    this.colors ??= themeColors(this.page);
    this.paint(ui.avgCanvas, averagesChartConfig(averages, this.level, { colors: this.colors, locale: this.locale }));
    const sentence = averages.map((a) => `${a.label}: ${formatEnergy(a.kwhPerDay, this.locale)} per day`);
    ui.avgCanvas.setAttribute('aria-label', `Bar chart of average energy per day. ${sentence.join('; ')}.`);
  }

  themeChanged() {
    this.colors = null; // read again from the page's CSS at the next draw
    if (!this.file) return;
    this.drawMain();
    if (this.others) this.drawAverages();
  }

  downloadCsv() {
    if (!this.file) return;
    const { file } = this.view;
    const blob = new Blob([toCsv(file, knownTimeZone(file.timezone))], { type: 'text/csv;charset=utf-8' });
    const url = URL.createObjectURL(blob);
    const link = el('a', { href: url, download: `powerstats-${this.meterId}-${this.level}.csv` });
    this.page.append(link);
    link.click();
    link.remove();
    // The browser reads the blob after this handler returns; let it go a while later.
    setTimeout(() => URL.revokeObjectURL(url), 60000);
  }
}

/**
 * Mount the dashboard in `root`. `fetchFile(path)` reads a data file by its relative path; or
 * pass a `source` (DataSource) and the `firstManifest` read it already started.
 */
export function mountDashboard(root, options) {
  const dashboard = new Dashboard(root, options);
  dashboard.ready = dashboard.start();
  return dashboard;
}
