/**
 * Bundle entry.js (what the dashboard uses of Chart.js) into one minified ES module with esbuild:
 *   node build.mjs ENTRY OUTFILE
 *
 * esbuild leaves out what nothing imports, but keeps a class whose static fields read another
 * module's property (`static defaults = Ticks.formatters...`), since such a read might have an
 * effect. In chart.js's dist every top-level class starts at `class Name ... {` and ends at a
 * `}` alone on its line; pure-classes rewrites each into `const Name = /* @__PURE__ *\/ (() =>
 * class Name ... {...})();`, which esbuild may drop when nothing uses Name (the unused scales and
 * the date adapter). Same input, same output: the build stays reproducible.
 */
import { build } from 'esbuild';
import { readFile } from 'node:fs/promises';

const pureClasses = {
  name: 'pure-classes',
  setup(esbuild) {
    esbuild.onLoad({ filter: /chart\.js[\\/]dist[\\/]chart\.js$/ }, async (args) => {
      const lines = (await readFile(args.path, 'utf8')).split('\n');
      let open = null;
      let wrapped = 0;
      for (let i = 0; i < lines.length; i += 1) {
        const start = /^class (\w+)( extends [\w.]+)? \{$/.exec(lines[i]);
        if (start && open === null) {
          lines[i] = `const ${start[1]} = /* @__PURE__ */ (() => ${lines[i]}`;
          open = start[1];
        } else if (open !== null && lines[i] === '}') {
          lines[i] = '})();';
          open = null;
          wrapped += 1;
        }
      }
      // A layout this does not recognise fails the build rather than shipping a broken one.
      if (open !== null || wrapped < 20) {
        throw new Error(`chart.js's classes are no longer laid out as expected in ${args.path}`);
      }
      return { contents: lines.join('\n'), loader: 'js' };
    });
  },
};

const [entry, outfile] = process.argv.slice(2);
await build({
  entryPoints: [entry],
  outfile,
  bundle: true,
  format: 'esm',
  minify: true,
  // ES2022 keeps class fields as written; every browser the dashboard supports runs ES2022.
  target: 'es2022',
  legalComments: 'eof',
  // V8's explicit compile hint (Chrome 136 on; other engines read a comment): the dashboard
  // calls most of what is kept on its first chart, so compiling it all while the file streams
  // in, off the main thread, beats compiling each function there on its first call.
  banner: { js: '//# allFunctionsCalledOnLoad' },
  charset: 'utf8',
  logLevel: 'warning',
  plugins: [pureClasses],
});
