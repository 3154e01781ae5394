/** HA panel room: the dashboard as Home Assistant's sidebar panel, reading data through HA's own auth. */

import { DataSource, readAhead } from './js/data.js';
import { readPlace, wishedMeter } from './js/place.js';

const STYLESHEET = new URL('./styles.css', import.meta.url).href;
const DEFAULT_DATA_URL = '/api/powerstats/data/';

/**
 * <powerstats-panel>: HA sets `hass`, `narrow` and `panel` on it. The data comes through
 * hass.fetchWithAuth, so the page holds no token of its own. The element is defined before the
 * dashboard's modules are in: mounting starts reading the data and loading the dashboard (and
 * Chart.js with it) at the same time, rather than one after the other.
 */
class PowerStatsPanel extends HTMLElement {
  constructor() {
    super();
    this.attachShadow({ mode: 'open' });
    this.dashboard = null;
    this.mounting = null; // the dashboard's modules on their way, for the mount under way
  }

  set hass(hass) {
    this._hass = hass;
    if (this.menuButton) this.menuButton.hass = hass;
    if (this.dashboard) this.syncScheme();
    else if (!this.mounting) this.mount();
  }

  get hass() {
    return this._hass;
  }

  set narrow(narrow) {
    this._narrow = narrow;
    if (this.menuButton) {
      this.menuButton.narrow = narrow;
      this.toolbar.hidden = !narrow;
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
    this.dashboard?.destroy();
    this.dashboard = null;
    this.mounting = null;
  }

  mount() {
    if (!this.isConnected || !this._hass || this.dashboard || this.mounting) return;
    const link = document.createElement('link');
    link.rel = 'stylesheet';
    link.href = STYLESHEET;
    // HA's own menu button opens the sidebar on a phone, where the sidebar is hidden.
    this.menuButton = document.createElement('ha-menu-button');
    this.menuButton.hass = this._hass;
    this.menuButton.narrow = Boolean(this._narrow);
    this.toolbar = document.createElement('div');
    this.toolbar.className = 'ps-ha-toolbar';
    this.toolbar.hidden = !this._narrow;
    this.toolbar.append(this.menuButton);
    const root = document.createElement('div');
    root.className = 'ps-ha-root';
    this.shadowRoot.replaceChildren(link, this.toolbar, root);
    const dataUrl = this._panel?.config?.data_url ?? DEFAULT_DATA_URL;
    const source = new DataSource((path, init) => this._hass.fetchWithAuth(dataUrl + path, init));
    const firstManifest = readAhead(source, wishedMeter('query'), readPlace('query').level);
    const mounting = import('./js/dashboard.js');
    // Chart.js, the largest file, fetched along with the dashboard rather than after it.
    import('./vendor/chart.min.js').catch(() => {});
    this.mounting = mounting;
    mounting.then(({ mountDashboard }) => {
      if (this.mounting !== mounting) return; // detached (or mounted again) meanwhile
      this.mounting = null;
      this.dashboard = mountDashboard(root, {
        source,
        firstManifest,
        place: 'query',
        locale: this._hass.locale?.language ?? this._hass.language,
      });
      this.syncScheme();
    }, (error) => {
      if (this.mounting !== mounting) return;
      this.mounting = null; // the next update from HA tries again
      root.textContent = `The PowerStats dashboard could not be loaded (${error.message}); reload the page.`;
    });
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
