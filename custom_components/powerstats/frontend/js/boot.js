
import { DataSource, readAhead } from './data.js';
import { readPlace, wishedMeter } from './place.js';

const source = new DataSource();
const firstManifest = readAhead(source, wishedMeter('hash'), readPlace('hash').level);
const { mountDashboard } = await import('./dashboard.js');
if (document.readyState === 'loading') {
  await new Promise((resolve) => { document.addEventListener('DOMContentLoaded', resolve, { once: true }); });
}
mountDashboard(document.getElementById('app'), { source, firstManifest });
