/**
 * The path of a bundle of the TypeScript file `entry`, built when missing or stale (see bundle.mjs): an ES module, or
 * with format 'cjs' a CommonJS file for code-cache.mjs's runWithCodeCache (the CLI's).
 */
export function bundle(entry: string, options?: { sourcemap?: boolean; packages?: 'external' | 'bundle'; format?: 'esm' | 'cjs' }): Promise<string>;
