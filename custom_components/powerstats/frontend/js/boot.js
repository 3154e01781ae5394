import { BUCKET_OF_LEVEL, DataSource, readAhead } from './data.js';
import { readPlace, wishedMeter } from './place.js';
async function appRoot() {
if (document.readyState === 'loading') {
await new Promise((resolve) => { document.addEventListener('DOMContentLoaded', resolve, { once: true }); });
}
return document.getElementById('app');
}
const source = new DataSource();
const { level } = readPlace('hash');
const firstManifest = readAhead(source, wishedMeter('hash'), level);
if (BUCKET_OF_LEVEL[level] !== 'day') import('../vendor/chart.min.js').catch(() => {});
try {
const { mountDashboard } = await import('./dashboard.js');
mountDashboard(await appRoot(), { source, firstManifest });
} catch (error) {
(await appRoot()).textContent = `The PowerStats dashboard could not be loaded (${error.message}); reload the page.`;
}
