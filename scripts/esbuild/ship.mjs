/**
 * The dashboard's own code as it ships, built with esbuild from www/:
 *   node ship.mjs WWW OUT
 *
 * Each room (js/boot.js for the stand-alone page, ha-panel.js for the HA panel) becomes one
 * minified ES module holding every module it imports, so a browser gets the dashboard in one
 * request, not one per module and import level: on the board each request is a connection of
 * its own to a small Python server, and in HA the panel's imports came in four levels.
 * What is loaded only when needed stays a file of its own, and its import is left to the
 * browser, written relative to the room: Chart.js (the sketch draws the first chart of bars
 * without it) and the meter picker (a dataset of many meters). The stylesheet is minified too.
 * Same input, same output: scripts/package writes these files and a test rebuilds them.
 */
import { build } from 'esbuild';
import path from 'node:path';

const ROOMS = ['js/boot.js', 'ha-panel.js'];
const ON_DEMAND = ['vendor/chart.min.js', 'js/picker.js'];
const STYLESHEETS = ['styles.css'];

const [www, out] = process.argv.slice(2);
if (!www || !out) {
  console.error('usage: node ship.mjs WWW OUT');
  process.exit(2);
}

const common = {
  bundle: true,
  minify: true,
  // ES2022 keeps class fields as written; every browser the dashboard supports runs ES2022.
  target: 'es2022',
  charset: 'utf8',
  legalComments: 'none', // the dashboard's licence is the project's (LICENSE)
  logLevel: 'warning',
};

/** Leaves the imports of ON_DEMAND files to the browser, as paths from `room`'s folder. */
function onDemandApart(room) {
  return {
    name: 'on-demand-apart',
    setup(esbuild) {
      esbuild.onResolve({ filter: /\.js$/ }, (args) => {
        const file = path.relative(www, path.resolve(args.resolveDir, args.path)).split(path.sep).join('/');
        if (!ON_DEMAND.includes(file) || file === room) return undefined;
        if (args.kind !== 'dynamic-import') {
          return { errors: [{ text: `${file} is loaded on demand: import() it, do not import it` }] };
        }
        const relative = path.posix.relative(path.posix.dirname(room), file);
        return { path: relative.startsWith('.') ? relative : `./${relative}`, external: true };
      });
    },
  };
}

// The rooms, and each of the dashboard's own files loaded on demand, built alone.
const ownOnDemand = ON_DEMAND.filter((file) => !file.startsWith('vendor/'));
for (const room of [...ROOMS, ...ownOnDemand]) {
  await build({
    ...common,
    entryPoints: [path.join(www, room)],
    outfile: path.join(out, room),
    format: 'esm',
    plugins: [onDemandApart(room)],
  });
}
for (const sheet of STYLESHEETS) {
  await build({ ...common, entryPoints: [path.join(www, sheet)], outfile: path.join(out, sheet) });
}
