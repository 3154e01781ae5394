/**
 * Early-start room for the stand-alone page: reads manifest.json, then the file of the view the
 * URL asks for, while the other modules (Chart.js above all) are still loading. index.html runs
 * it before boot.js, which imports the same, already running, module.
 */

import { DataSource, chooseView } from './data.js';
import { readPlace, wishedMeter } from './place.js';

export const source = new DataSource();
export const firstManifest = source.manifest();

const wished = { meter: wishedMeter('hash'), level: readPlace('hash').level };
firstManifest
  .then((manifest) => {
    const { meter, level } = chooseView(manifest, wished.meter, wished.level);
    // The dashboard's own request for this file joins this one (DataSource shares requests).
    if (level) return source.level(meter, level);
    return null;
  })
  // Failures are reported when the dashboard reads the same things, not as stray rejections.
  .catch(() => {});
