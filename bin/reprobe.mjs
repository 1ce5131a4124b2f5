#!/usr/bin/env node
// Runs the TypeScript sources with no build step for `npm ci`. A start loads them as one bundle of src/cli/main.ts
// (esbuild), built on first use and kept in node_modules/.cache/reprobe under the hash of every source file: through
// tsx's loader each of the ~200 modules costs a round trip to its hooks thread, about 2.4 s of CPU per start against
// 1.1 s for the bundle, and the test suite starts the CLI some hundred times. Where the bundle cannot be built or
// written, or with REPROBE_NO_BUNDLE=1, the sources run through tsx as before.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';

const root = join(import.meta.dirname, '..');

/** Every file under dir, sorted, so the hash does not depend on the directory listing's order. */
function sources(dir) {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? sources(join(dir, e.name)) : [join(dir, e.name)]))
    .sort();
}

/** The bundle's path, built when missing; undefined when esbuild is not there or the cache is not writable. */
async function bundle() {
  try {
    const esbuild = await import('esbuild');
    const hash = createHash('sha256').update(`esbuild ${esbuild.version}\0`);
    // What decides the bundle: the sources, this file (the build's options) and tsconfig.json (esbuild reads it).
    for (const f of [...sources(join(root, 'src')), import.meta.filename, join(root, 'tsconfig.json')]) hash.update(`${f}\0`).update(readFileSync(f)).update('\0');
    const dir = join(root, 'node_modules', '.cache', 'reprobe');
    const out = join(dir, `cli-${hash.digest('hex').slice(0, 16)}.mjs`);
    if (existsSync(out)) return out;
    // Each file keeps its own import.meta (paths to configs/, tools/, package.json and workers are relative to it).
    const own = {
      name: 'own-import-meta',
      setup(b) {
        b.onLoad({ filter: /\.ts$/ }, (args) => {
          const values = { url: pathToFileURL(args.path).href, dirname: dirname(args.path), filename: args.path };
          const text = readFileSync(args.path, 'utf8').replace(/\bimport\.meta\.(url|dirname|filename)\b/g, (_, k) => JSON.stringify(values[k]));
          return { contents: text, loader: 'ts' };
        });
      },
    };
    const built = await esbuild.build({ entryPoints: [join(root, 'src', 'cli', 'main.ts')], bundle: true, platform: 'node', format: 'esm', target: 'node20', packages: 'external', write: false, logLevel: 'silent', plugins: [own] });
    mkdirSync(dir, { recursive: true });
    // Bundles of older sources go after a day (not at once: a CLI started just before may still be loading one).
    for (const old of readdirSync(dir)) if (old.startsWith('cli-') && Date.now() - statSync(join(dir, old)).mtimeMs > 86_400_000) rmSync(join(dir, old), { force: true });
    const tmp = `${out}.tmp-${process.pid}`;
    writeFileSync(tmp, built.outputFiles[0].contents);
    renameSync(tmp, out);
    return out;
  } catch {
    return undefined;
  }
}

const built = process.env.REPROBE_NO_BUNDLE ? undefined : await bundle();
let cli;
if (built) cli = await import(pathToFileURL(built).href);
else {
  const { register } = await import('tsx/esm/api');
  register();
  cli = await import('../src/cli/main.ts');
}
await cli.run();
