/**
 * Boot room for the stand-alone page (the board, GitHub Pages): data beside the page, state in
 * the URL hash. index.html runs it as an async module: it starts reading manifest.json and the
 * file of the view the URL names (js/data.js, readAhead), then mounts the dashboard once the
 * page's stylesheet is in. As shipped, this file holds the dashboard's modules
 * (scripts/esbuild/ship.mjs); from www/ as it is, they load meanwhile.
 */

import { BUCKET_OF_LEVEL, DataSource, readAhead } from './data.js';
import { readPlace, wishedMeter } from './place.js';

/** The page's root element, once the body is parsed: an async module may run before it is. */
async function appRoot() {
  if (document.readyState === 'loading') {
    await new Promise((resolve) => { document.addEventListener('DOMContentLoaded', resolve, { once: true }); });
  }
  return document.getElementById('app');
}

/**
 * Once index.html's stylesheet is in, or failed (unstyled beats blank): the dashboard takes its
 * colours and its charts' sizes from it, and an async module may run before it is in. Chromium
 * gives a failed one an empty `sheet` as well; where a browser does not, the window's load says
 * that one failed before anyone listened.
 */
async function styled() {
  const link = document.querySelector('link[rel="stylesheet"]');
  if (!link || link.sheet || document.readyState === 'complete') return;
  await new Promise((resolve) => {
    link.addEventListener('load', resolve, { once: true });
    link.addEventListener('error', resolve, { once: true });
    globalThis.addEventListener('load', resolve, { once: true });
  });
}

const source = new DataSource();
const { level } = readPlace('hash');
const firstManifest = readAhead(source, wishedMeter('hash'), level);
// A first view of lines waits for Chart.js (bars are sketched without it): fetched along with
// the dashboard rather than after it.
if (BUCKET_OF_LEVEL[level] !== 'day') import('../vendor/chart.min.js').catch(() => {});
try {
  const { mountDashboard } = await import('./dashboard.js');
  const root = await appRoot();
  await styled();
  mountDashboard(root, { source, firstManifest });
} catch (error) {
  // A module that did not load (a dropped connection, an update half installed): say so rather
  // than leave a blank page.
  (await appRoot()).textContent = `The PowerStats dashboard could not be loaded (${error.message}); reload the page.`;
}
