/** Boot room for the stand-alone page (the board, GitHub Pages): data beside the page, state in the URL hash. */

import { mountDashboard } from './dashboard.js';
import { firstManifest, source } from './prefetch.js';

mountDashboard(document.getElementById('app'), { source, firstManifest });
