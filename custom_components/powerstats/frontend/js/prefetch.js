/**
 * Early-start room for the stand-alone page: asks for manifest.json while the other modules are
 * still loading. index.html runs it before boot.js, which imports the same (already run) module.
 */

import { relativeFetch } from './data.js';

export const manifestResponse = relativeFetch('manifest.json');
// A failure is reported when boot.js reads it, not as an unhandled rejection before that.
manifestResponse.catch(() => {});
