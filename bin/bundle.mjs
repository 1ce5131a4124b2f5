// One ES module bundle of a TypeScript entry (esbuild, which tsx brings), kept in node_modules/.cache/reprobe under
// the hash of everything that decides it, so that starting it loads one file instead of each source through tsx's
// loader (a round trip to its hooks thread per module). bin/reprobe.mjs runs the CLI from one; tests that start a
// TypeScript child under emulation use it too.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';

const root = join(import.meta.dirname, '..');
const DAY = 86_400_000;

/** Every file under dir, sorted, so the hash does not depend on the directory listing's order. */
function files(dir) {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : [join(dir, e.name)]))
    .sort();
}

/**
 * The bundle of `entry` (a .ts file in this checkout): its path, built when missing. Keyed on every file under src/
 * and the entry's own folder, this file (the build's options), tsconfig.json and esbuild's version. Throws when
 * esbuild is missing or the cache cannot be written; callers fall back to tsx.
 */
export async function bundle(entry) {
  const esbuild = await import('esbuild');
  const hash = createHash('sha256').update(`esbuild ${esbuild.version}\0${entry}\0`);
  const inputs = new Set([...files(join(root, 'src')), ...files(dirname(entry)), import.meta.filename, join(root, 'tsconfig.json')]);
  for (const f of [...inputs].sort()) hash.update(`${relative(root, f)}\0`).update(readFileSync(f)).update('\0');
  const dir = join(root, 'node_modules', '.cache', 'reprobe');
  const name = relative(root, entry).replace(/\.ts$/, '').replace(/[^\w.-]+/g, '-');
  const out = join(dir, `${name}-${hash.digest('hex').slice(0, 16)}.mjs`);
  if (existsSync(out)) return out;
  // Each file keeps its own import.meta (paths to configs/, tools/, package.json and workers are relative to it).
  const ownImportMeta = {
    name: 'own-import-meta',
    setup(b) {
      b.onLoad({ filter: /\.ts$/ }, (args) => {
        const values = { url: pathToFileURL(args.path).href, dirname: dirname(args.path), filename: args.path };
        const text = readFileSync(args.path, 'utf8').replace(/\bimport\.meta\.(url|dirname|filename)\b/g, (_, k) => JSON.stringify(values[k]));
        return { contents: text, loader: 'ts' };
      });
    },
  };
  const built = await esbuild.build({ entryPoints: [entry], bundle: true, platform: 'node', format: 'esm', target: 'node20', packages: 'external', write: false, logLevel: 'silent', plugins: [ownImportMeta] });
  mkdirSync(dir, { recursive: true });
  // Bundles of older sources go after a day (not at once: a process started just before may still be loading one).
  for (const old of readdirSync(dir)) if (old.startsWith(`${name}-`) && Date.now() - statSync(join(dir, old)).mtimeMs > DAY) rmSync(join(dir, old), { force: true });
  const tmp = `${out}.tmp-${process.pid}`;
  writeFileSync(tmp, built.outputFiles[0].contents);
  renameSync(tmp, out);
  return out;
}
