/**
 * Boot room for the stand-alone page (the board, GitHub Pages): data beside the page, state in
 * the URL hash. index.html runs it as an async module, as soon as its two small imports are in:
 * it starts reading manifest.json and then the file of the view the URL asks for while the
 * dashboard's modules (Chart.js above all) are still loading, then mounts the dashboard.
 */

import { DataSource, readAhead } from './data.js';
import { readPlace, wishedMeter } from './place.js';

const source = new DataSource();
const firstManifest = readAhead(source, wishedMeter('hash'), readPlace('hash').level);
const { mountDashboard } = await import('./dashboard.js');
if (document.readyState === 'loading') {
  // An async module may run before the body is parsed; the dashboard needs its root element.
  await new Promise((resolve) => { document.addEventListener('DOMContentLoaded', resolve, { once: true }); });
}
mountDashboard(document.getElementById('app'), { source, firstManifest });
