// One ES module bundle of a TypeScript entry (esbuild, which tsx brings), kept in node_modules/.cache/reprobe, so that
// starting it loads one file instead of each source through tsx's loader (a round trip to its hooks thread per
// module: 2.3 s of CPU per CLI start against 1.0 s). bin/reprobe.mjs runs the CLI from one; npm test runs its test
// files from them (test/runner/run.ts).
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';

const root = join(import.meta.dirname, '..');
const dir = join(root, 'node_modules', '.cache', 'reprobe');
const DAY = 86_400_000;

const sha = (data) => createHash('sha256').update(data).digest('hex');

/** Write a file whole or not at all. */
function writeAtomic(path, data) {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, data);
  renameSync(tmp, path);
}

const META = ['url', 'dirname', 'filename'];
/** Each import.meta.<key> becomes this name (esbuild's define replaces the expression, never text in strings). */
const metaName = (k) => `__reprobe_import_meta_${k}`;

/**
 * Each file keeps its own import.meta (paths to configs/, tools/, package.json and workers are relative to it): the
 * file gets constants holding its own values, which the define of `import.meta.<key>` names. esbuild renames each
 * module's top-level names apart, so every module's expression binds to its own constants. They go on the first line
 * (after a #! line), so line numbers and source maps stay right.
 */
const ownImportMeta = {
  name: 'own-import-meta',
  setup(b) {
    // Every module esbuild reads (the define rewrites import.meta in each): .ts, .mts, .cts, .tsx, .js, .mjs, .cjs, .jsx.
    b.onLoad({ filter: /\.[cm]?[jt]sx?$/ }, (args) => {
      let text = readFileSync(args.path, 'utf8');
      const loader = /\.[cm]?ts$/.test(args.path) ? 'ts' : args.path.endsWith('.tsx') ? 'tsx' : args.path.endsWith('.jsx') ? 'jsx' : 'js';
      if (!text.includes('import.meta')) return { contents: text, loader };
      const values = { url: pathToFileURL(args.path).href, dirname: dirname(args.path), filename: args.path };
      // A CommonJS bundle has no import.meta.resolve: its wrapper (bin/code-cache.mjs) passes __reprobeResolve.
      const resolve = b.initialOptions.format === 'cjs' ? `, ${metaName('resolve')} = (s) => __reprobeResolve(s, ${JSON.stringify(values.url)})` : '';
      const decl = `const ${META.map((k) => `${metaName(k)} = ${JSON.stringify(values[k])}`).join(', ')}${resolve};`;
      const at = text.startsWith('#!') ? text.indexOf('\n') + 1 : 0;
      text = text.slice(0, at) + decl + text.slice(at);
      return { contents: text, loader };
    });
  },
};

/**
 * Packages a bundle with `packages: 'bundle'` still loads from node_modules: native addons and what finds files
 * beside its own code (sharp, onnxruntime-node, tfjs' wasm backend and its .wasm files), tfjs itself (the wasm backend
 * and the optional tfjs-node must register with the same tfjs instance), yargs (loaded by createRequire, for its
 * CommonJS build) and the tools (esbuild, tsx).
 */
const EXTERNAL = ['sharp', 'onnxruntime-node', '@tensorflow/*', 'nsfwjs', 'mnist', 'yargs', 'yargs/*', 'esbuild', 'tsx', 'tsx/*'];

/**
 * External CommonJS packages the bundle loads by require rather than by import: node's import of a CommonJS module
 * first scans its source for export names (cjs-module-lexer), about 0.3 s of each CLI start for tfjs' 2 MB file.
 */
const EXTERNAL_BY_REQUIRE = /^(@tensorflow\/tfjs|@tensorflow\/tfjs-backend-wasm|sharp|onnxruntime-node)$/;
const requireExternal = {
  name: 'require-external',
  setup(b) {
    b.onResolve({ filter: EXTERNAL_BY_REQUIRE }, (args) =>
      // The shim's own require stays a require of the package (the banner's).
      args.kind === 'require-call' ? { path: args.path, external: true } : { path: args.path, namespace: 'require-external' },
    );
    b.onLoad({ filter: /.*/, namespace: 'require-external' }, (args) => ({ contents: `module.exports = require(${JSON.stringify(args.path)});`, loader: 'js' }));
  },
};

/**
 * requireExternal for a CommonJS bundle, whose start then loads none of these packages until a command uses one
 * (with the code cache: tfjs 0.07 CPU s, sharp 0.04, onnxruntime-node 0.016): each shim exports a stand-in that
 * requires the package on its first use. An import of a CommonJS module (esbuild's __toESM) makes an object whose
 * prototype is the module's and copies the module's own keys onto it: the stand-in has none, and its prototype reads
 * each name from the package, so `tf.add` finds it there (copying tfjs' 1,500 names for each of the 20 modules that
 * import it cost a start 0.015 CPU s). Where the package exports a function (sharp), the stand-in is one, so calls
 * reach it. An `await import()` of one is for its side effects (tfjs-backend-wasm registers its backend): that shim
 * requires at once, as requireExternal's.
 */
const lazyRequireExternal = {
  name: 'lazy-require-external',
  setup(b) {
    const req = createRequire(join(root, 'package.json'));
    b.onResolve({ filter: EXTERNAL_BY_REQUIRE }, (args) =>
      args.kind === 'require-call'
        ? { path: args.path, external: true }
        : { path: args.path, namespace: args.kind === 'dynamic-import' ? 'require-external' : 'require-external-lazy' },
    );
    b.onLoad({ filter: /.*/, namespace: 'require-external' }, (args) => ({ contents: `module.exports = require(${JSON.stringify(args.path)});`, loader: 'js' }));
    b.onLoad({ filter: /.*/, namespace: 'require-external-lazy' }, (args) => {
      // Whether the package exports a function (loaded here once per build).
      const fn = typeof req(args.path) === 'function';
      const contents = `let real;
const load = () => (real ??= require(${JSON.stringify(args.path)}));
const names = new Proxy({}, {
  get: (_, k) => Reflect.get(load(), k),
  set: (_, k, v) => Reflect.set(load(), k, v),
  has: (_, k) => Reflect.has(load(), k),
});
module.exports = new Proxy(${fn ? 'function () {}' : '{}'}, {
  get: (_, k) => Reflect.get(load(), k),
  set: (_, k, v) => Reflect.set(load(), k, v),
  has: (_, k) => Reflect.has(load(), k),
  getPrototypeOf: () => names,
  apply: (_, self, a) => Reflect.apply(load(), self, a),
  construct: (_, a) => Reflect.construct(load(), a),
});
`;
      return { contents, loader: 'js' };
    });
  },
};

/**
 * vega-canvas' top-level `await import('canvas')` (an optional package, absent here: the import fails and is caught)
 * as a require, which a CommonJS bundle can hold: the same outcome whether canvas is installed or not.
 */
const noTopLevelAwait = {
  name: 'no-top-level-await',
  setup(b) {
    b.onLoad({ filter: /vega-canvas[\\/]build[\\/]vega-canvas\.node\.js$/ }, (args) => {
      const text = readFileSync(args.path, 'utf8');
      const out = text.replace("NodeCanvas = await import('canvas');", "NodeCanvas = require('canvas');");
      if (out === text) throw new Error(`${args.path}: its top-level await of canvas is no longer where bin/bundle.mjs expects it`);
      return { contents: out, loader: 'js' };
    });
  },
};

/**
 * What an input is checked by: a source by its own content; a file of a package by the package's package.json (its
 * name and version: npm replaces a package whole), so a start hashes one file per package, not each of its ~500 files.
 */
function inputKey(file) {
  const m = /^(.*node_modules\/(?:@[^/]+\/)?[^/]+)\//.exec(file);
  // Not node_modules/.cache (entries of the tests lie there) nor a file outside any package.
  return m && existsSync(join(m[1], 'package.json')) ? join(m[1], 'package.json') : file;
}

/**
 * A file's size and mtime, as an input's index entry keeps them to skip hashing it (0.02 CPU s of each CLI start for
 * its ~250 inputs): null for a file changed in the last 2 s, which a change of the same size within the file system's
 * mtime granularity could hide (git's "racy" entries); such a file is hashed.
 */
function stamp(file, now = Date.now()) {
  const st = statSync(file);
  return now - st.mtimeMs > 2000 ? [st.size, st.mtimeMs] : null;
}

/**
 * The index's bundle when every input it lists still has the content it was built from: the same size and mtime as
 * recorded, or else the same sha256. An index whose racy entries have since settled is written again with them.
 */
function current(index) {
  try {
    const { bundle, inputs } = JSON.parse(readFileSync(index, 'utf8'));
    const path = join(dir, bundle);
    if (!existsSync(path)) return undefined;
    let restamped = false;
    for (const entry of inputs) {
      const [f, h, recorded] = entry;
      const now = stamp(join(root, f));
      if (recorded && now && now[0] === recorded[0] && now[1] === recorded[1]) continue;
      if (sha(readFileSync(join(root, f))) !== h) return undefined;
      if (now) [entry[2], restamped] = [now, true];
    }
    if (restamped) writeAtomic(index, JSON.stringify({ bundle, inputs }));
    return path;
  } catch {
    return undefined;
  }
}

/**
 * The path of the bundle of `entry` (a .ts file in this checkout), built when missing or when a file it was built from
 * changed. An index per entry and options lists the inputs (esbuild's metafile) with their sha256; bundles are named
 * by their content and never rewritten, so a process loading one while another rebuilds is safe. Throws when esbuild
 * is missing or the cache cannot be written: callers run the sources through tsx then.
 */
export async function bundle(entry, { sourcemap = false, packages = 'external', format = 'esm' } = {}) {
  const options = { entryPoints: [entry], bundle: true, platform: 'node', format, target: 'node20', sourcemap: sourcemap ? 'inline' : false };
  if (packages === 'external') options.packages = 'external';
  else options.external = EXTERNAL;
  // Bundled CommonJS packages and requireExternal's shims call require (of node: modules and of the external
  // packages): an ES module has none. A CommonJS bundle gets its require from its wrapper (bin/code-cache.mjs).
  if (format === 'esm') options.banner = { js: "import { createRequire as __reprobeCreateRequire } from 'node:module'; const require = __reprobeCreateRequire(import.meta.url);" };
  // What decides the output besides the inputs: esbuild, this file (the plugin), tsconfig.json (esbuild reads it).
  // esbuild's version from its package.json: importing esbuild costs a start 0.01 CPU s, needed only to build.
  const esbuildVersion = JSON.parse(readFileSync(createRequire(import.meta.url).resolve('esbuild/package.json'), 'utf8')).version;
  const key = sha(JSON.stringify([esbuildVersion, sha(readFileSync(import.meta.filename)), sha(readFileSync(join(root, 'tsconfig.json'))), options])).slice(0, 12);
  const name = relative(root, entry).replace(/\.ts$/, '').replace(/[^\w.-]+/g, '-');
  const index = join(dir, `${name}-${key}.json`);
  const ready = current(index);
  if (ready) return ready;
  // outdir: the source map's paths are relative to where the bundle lies.
  const define = Object.fromEntries([...META, ...(format === 'cjs' ? ['resolve'] : [])].map((k) => [`import.meta.${k}`, metaName(k)]));
  const esbuild = await import('esbuild');
  const plugins = format === 'cjs' ? [lazyRequireExternal, noTopLevelAwait, ownImportMeta] : [requireExternal, ownImportMeta];
  const built = await esbuild.build({ ...options, define, outdir: dir, write: false, metafile: true, logLevel: 'silent', plugins });
  const code = built.outputFiles[0].contents;
  const file = `${name}-${sha(code).slice(0, 16)}.${format === 'cjs' ? 'cjs' : 'mjs'}`;
  // The shims of requireExternal are no files (their package is external).
  const files = Object.keys(built.metafile.inputs).filter((f) => !/^require-external(-lazy)?:/.test(f));
  const inputs = [...new Set(files.map(inputKey))].map((f) => [relative(root, f), sha(readFileSync(f)), stamp(f)]);
  mkdirSync(dir, { recursive: true });
  // Bundles of older sources go after a day (not at once: a process started just before may still be loading one).
  for (const old of readdirSync(dir)) if (old.startsWith(`${name}-`) && /\.(mjs|cjs|v8cache)$/.test(old) && Date.now() - statSync(join(dir, old)).mtimeMs > DAY) rmSync(join(dir, old), { force: true });
  if (!existsSync(join(dir, file))) writeAtomic(join(dir, file), code);
  writeAtomic(index, JSON.stringify({ bundle: file, inputs }));
  return join(dir, file);
}
