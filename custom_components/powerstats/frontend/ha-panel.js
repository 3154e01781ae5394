import { BUCKET_OF_LEVEL, DataSource, readAhead } from './js/data.js';
import { readPlace, wishedMeter } from './js/place.js';
const STYLESHEET = new URL('./styles.css', import.meta.url).href;
const DEFAULT_DATA_URL = '/api/powerstats/data/';
const NUMBER_LOCALES = {
comma_decimal: ['en-US', 'en'],
decimal_comma: ['de', 'es', 'it'],
space_comma: ['fr', 'sv', 'cs'],
quote_decimal: ['de-CH'],
none: 'en-US', // and no grouping: 1234567.89
system: undefined, // the browser's
};
const HOUR_CYCLES = { 12: 'h12', 24: 'h23' };
function knownLocale(tag) {
try {
return Intl.getCanonicalLocales(tag)[0];
} catch {
return undefined;
}
}
function browserHourCycle() {
return new Intl.DateTimeFormat(undefined, { hour: 'numeric' }).resolvedOptions().hourCycle;
}
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
class PowerStatsPanel extends HTMLElement {
constructor() {
super();
this.attachShadow({ mode: 'open' });
this.dashboard = null;
this.mounting = null; // the dashboard's modules on their way, for the mount under way
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
const mounting = import('./js/dashboard.js');
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
syncToolbar() {
this.toolbar.hidden = !(this._narrow || this._hass?.dockedSidebar === 'always_hidden');
}
syncLocale() {
const { locale } = this._hass;
if (locale === this.hassLocale) return;
this.hassLocale = locale;
this.dashboard.setLocale(localeOf(this._hass));
}
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
