/** HA panel room: the dashboard as Home Assistant's sidebar panel, reading data through HA's own auth. */

import { BUCKET_OF_LEVEL, DataSource, readAhead } from './js/data.js';
import { readPlace, wishedMeter } from './js/place.js';

const STYLESHEET = new URL('./styles.css', import.meta.url).href;
const DEFAULT_DATA_URL = '/api/powerstats/data/';

// The user's number format in HA (hass.locale.number_format) as the locales HA's own frontend
// writes numbers in (src/common/number/format_number.ts); 'language' is the user's language.
const NUMBER_LOCALES = {
  comma_decimal: ['en-US', 'en'],
  decimal_comma: ['de', 'es', 'it'],
  space_comma: ['fr', 'sv', 'cs'],
  quote_decimal: ['de-CH'],
  none: 'en-US', // and no grouping: 1234567.89
  system: undefined, // the browser's
};
// The user's time format in HA (hass.locale.time_format) as an hour cycle; 'language' leaves
// the language's own.
const HOUR_CYCLES = { 12: 'h12', 24: 'h23' };

/** A language tag Intl accepts, or undefined (the browser's language) for anything else. */
function knownLocale(tag) {
  try {
    return Intl.getCanonicalLocales(tag)[0];
  } catch {
    return undefined;
  }
}

/** The hour cycle the browser's own locale writes times in: HA's "use system settings". */
function browserHourCycle() {
  return new Intl.DateTimeFormat(undefined, { hour: 'numeric' }).resolvedOptions().hourCycle;
}

/**
 * How the dashboard writes dates and numbers for this user (see js/format.js): HA's language,
 * with the number format and the 12/24-hour clock chosen in the user's profile.
 */
function localeOf(hass) {
  const settings = hass.locale ?? {};
  const language = knownLocale(settings.language ?? hass.language);
  const hourCycle = settings.time_format === 'system' ? browserHourCycle() : HOUR_CYCLES[settings.time_format];
  const dates = hourCycle
    ? new Intl.Locale(language ?? new Intl.DateTimeFormat().resolvedOptions().locale, { hourCycle }).toString()
    : language;
  const format = settings.number_format;
  const numbers = Object.hasOwn(NUMBER_LOCALES, format) ? NUMBER_LOCALES[format] : language;
  return { dates, numbers, grouping: format !== 'none' };
}

/**
 * <powerstats-panel>: HA sets `hass`, `narrow` and `panel` on it. The data comes through
 * hass.fetchWithAuth, so the page holds no token of its own. Mounting starts reading the data
 * and the stylesheet, then imports the dashboard and mounts it once the stylesheet is in: as
 * shipped, this file holds its modules (scripts/esbuild/ship.mjs); from www/ as it is, they load
 * while the data is read.
 */
class PowerStatsPanel extends HTMLElement {
  constructor() {
    super();
    this.attachShadow({ mode: 'open' });
    this.dashboard = null;
    this.mounting = null; // the dashboard's modules on their way, for the mount under way
    // HA's navigation within the panel changes the query without telling the panel (its `route`
    // is the path alone): clicking the panel's sidebar entry drops meter and level, Back and
    // Forward bring others. HA fires location-changed on the window for the first, the browser
    // popstate for the others. Navigation to another panel is that panel's business.
    this.onLocation = () => {
      if (globalThis.location.pathname === this.pathname) this.dashboard?.placeChanged();
    };
  }

  set hass(hass) {
    this._hass = hass;
    if (this.menuButton) {
      this.menuButton.hass = hass;
      this.syncToolbar();
    }
    if (this.dashboard) {
      this.syncScheme();
      this.syncLocale();
    } else if (!this.mounting) {
      this.mount();
    }
  }

  get hass() {
    return this._hass;
  }

  set narrow(narrow) {
    this._narrow = narrow;
    if (this.menuButton) {
      this.menuButton.narrow = narrow;
      this.syncToolbar();
    }
  }

  set panel(panel) {
    this._panel = panel;
  }

  connectedCallback() {
    this.mount();
  }

  disconnectedCallback() {
    // HA detaches a panel when another one is shown: stop polling until it comes back.
    globalThis.removeEventListener('location-changed', this.onLocation);
    globalThis.removeEventListener('popstate', this.onLocation);
    this.dashboard?.destroy();
    this.dashboard = null;
    this.mounting = null;
  }

  mount() {
    if (!this.isConnected || !this._hass || this.dashboard || this.mounting) return;
    const link = document.createElement('link');
    link.rel = 'stylesheet';
    link.href = STYLESHEET;
    // The dashboard takes its colours and its charts' sizes from its stylesheet, which holds up
    // nothing in a shadow root: it is mounted once that is in (or failed: unstyled beats blank).
    const styled = new Promise((resolve) => {
      link.addEventListener('load', resolve, { once: true });
      link.addEventListener('error', resolve, { once: true });
    });
    // HA's own menu button opens the sidebar where it is hidden (a phone; a hidden sidebar).
    this.menuButton = document.createElement('ha-menu-button');
    this.menuButton.hass = this._hass;
    this.menuButton.narrow = Boolean(this._narrow);
    this.toolbar = document.createElement('div');
    this.toolbar.className = 'ps-ha-toolbar';
    this.toolbar.append(this.menuButton);
    this.syncToolbar();
    const root = document.createElement('div');
    root.className = 'ps-ha-root';
    this.shadowRoot.replaceChildren(link, this.toolbar, root);
    this.pathname = globalThis.location.pathname;
    globalThis.addEventListener('location-changed', this.onLocation);
    globalThis.addEventListener('popstate', this.onLocation);
    const dataUrl = this._panel?.config?.data_url ?? DEFAULT_DATA_URL;
    const source = new DataSource((path, init) => this._hass.fetchWithAuth(dataUrl + path, init));
    const { level } = readPlace('query');
    const firstManifest = readAhead(source, wishedMeter('query'), level);
    const mounting = Promise.all([import('./js/dashboard.js'), styled]).then(([module]) => module);
    // A first view of lines waits for Chart.js, the largest file (bars are sketched without it):
    // fetched along with the dashboard rather than after it.
    if (BUCKET_OF_LEVEL[level] !== 'day') import('./vendor/chart.min.js').catch(() => {});
    this.mounting = mounting;
    mounting.then(({ mountDashboard }) => {
      if (this.mounting !== mounting) return; // detached (or mounted again) meanwhile
      this.mounting = null;
      this.dashboard = mountDashboard(root, {
        source,
        firstManifest,
        place: 'query',
        locale: localeOf(this._hass),
      });
      this.hassLocale = this._hass.locale;
      this.syncScheme();
    }, (error) => {
      if (this.mounting !== mounting) return;
      this.mounting = null; // the next update from HA tries again
      root.textContent = `The PowerStats dashboard could not be loaded (${error.message}); reload the page.`;
    });
  }

  /**
   * Show the menu button whenever HA hides its sidebar: on a narrow screen, and on any screen
   * when the user chose to hide the sidebar. HA's menu button shows itself by the same rule;
   * it is then the only way to the sidebar, so its toolbar must not hide it.
   */
  syncToolbar() {
    this.toolbar.hidden = !(this._narrow || this._hass?.dockedSidebar === 'always_hidden');
  }

  /**
   * Follow the user's language, number and time format: HA hands panels a new `locale` object
   * when the user changes one (a new `hass` comes with every state change, the same `locale`).
   */
  syncLocale() {
    const { locale } = this._hass;
    if (locale === this.hassLocale) return;
    this.hassLocale = locale;
    this.dashboard.setLocale(localeOf(this._hass));
  }

  /**
   * Follow HA's theme: its light/dark choice, and its colours, which arrive through CSS
   * variables. HA hands panels a new `themes` object whenever either changes (another theme
   * of the same lightness included), so the charts read their colours again then.
   */
  syncScheme() {
    const { themes } = this._hass;
    const { page } = this.dashboard;
    if (themes === this.themes && page.dataset.scheme) return;
    this.themes = themes;
    page.dataset.scheme = themes?.darkMode ? 'dark' : 'light';
    this.dashboard.themeChanged();
  }
}

if (!customElements.get('powerstats-panel')) customElements.define('powerstats-panel', PowerStatsPanel);
