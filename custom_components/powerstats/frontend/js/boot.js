
import { DataSource, readAhead } from './data.js';
import { readPlace, wishedMeter } from './place.js';

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
  (await appRoot()).textContent = `The PowerStats dashboard could not be loaded (${error.message}); reload the page.`;
}
