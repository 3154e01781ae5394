/** Boot room for the stand-alone page (the board, GitHub Pages): data beside the page, state in the URL hash. */

import { mountDashboard } from './dashboard.js';
import { relativeFetch } from './data.js';
import { manifestResponse } from './prefetch.js';

let early = manifestResponse;

/** The first read of manifest.json uses the request already under way; later ones fetch anew. */
function fetchFile(path) {
  if (path === 'manifest.json' && early) {
    const response = early;
    early = null;
    return response;
  }
  return relativeFetch(path);
}

mountDashboard(document.getElementById('app'), { fetchFile });
