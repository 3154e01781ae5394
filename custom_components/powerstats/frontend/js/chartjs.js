/** Chart.js loader: the vendored UMD build puts Chart on globalThis; this hands it out as an import. */

import '../vendor/chart.umd.min.js';

export const Chart = globalThis.Chart;
