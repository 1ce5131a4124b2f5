/** The path of an ES module bundle of the TypeScript file `entry`, built when missing (see bundle.mjs). */
export function bundle(entry: string): Promise<string>;
