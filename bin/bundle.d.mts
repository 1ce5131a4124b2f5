/** The path of an ES module bundle of the TypeScript file `entry`, built when missing or stale (see bundle.mjs). */
export function bundle(entry: string, options?: { sourcemap?: boolean }): Promise<string>;
