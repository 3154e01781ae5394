/**
 * Boot room for the stand-alone page (the board, GitHub Pages): data beside the page, state in
 * the URL hash. index.html runs it as an async module, as soon as its two small imports are in:
 * it starts reading manifest.json and then the file of the view the URL asks for while the
 * dashboard's modules (Chart.js above all) are still loading, then mounts the dashboard.
 */

import { DataSource, readAhead } from './data.js';
import { readPlace, wishedMeter } from './place.js';

/** The page's root element, once the body is parsed: an async module may run before it is. */
async function appRoot() {
  if (document.readyState === 'loading') {
    await new Promise((resolve) => { document.addEventListener('DOMContentLoaded', resolve, { once: true }); });
  }
  return document.getElementById('app');
}

const source = new DataSource();
const firstManifest = readAhead(source, wishedMeter('hash'), readPlace('hash').level);
try {
  const { mountDashboard } = await import('./dashboard.js');
  mountDashboard(await appRoot(), { source, firstManifest });
} catch (error) {
  // A module that did not load (a dropped connection, an update half installed): say so rather
  // than leave a blank page.
  (await appRoot()).textContent = `The PowerStats dashboard could not be loaded (${error.message}); reload the page.`;
}
