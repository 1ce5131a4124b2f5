#!/usr/bin/env node
// Runs the TypeScript sources with no build step for `npm ci`. A start loads them as one bundle of src/cli/main.ts
// (bin/bundle.mjs: esbuild, cached under the hash of the sources): through tsx's loader each of the ~200 modules costs
// a round trip to its hooks thread, about 2.3 s of CPU per start against 0.7 s for the bundle (its pure-JS packages
// inside it), and the test suite starts the CLI some hundred times. The bundle is CommonJS, run with V8's code cache
// (code-cache.mjs), as are the packages it requires: a start costs about 0.25 CPU s. Where the bundle cannot be built or
// written, or with REPROBE_NO_BUNDLE=1, the sources run through tsx as before.
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { bundle } from './bundle.mjs';
import { cachePackages, runWithCodeCache } from './code-cache.mjs';

const main = join(import.meta.dirname, '..', 'src', 'cli', 'main.ts');
const built = process.env.REPROBE_NO_BUNDLE ? undefined : await bundle(main, { packages: 'bundle', format: 'cjs' }).catch(() => undefined);
let cli;
if (built) {
  cachePackages(dirname(built));
  cli = runWithCodeCache(built);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  cli = await import(pathToFileURL(main).href);
}
await cli.run();
