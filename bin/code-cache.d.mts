/** What V8 checks a code cache against, as part of a cache file's name: node's version and flags (see code-cache.mjs). */
export function nodeKey(execArgv?: string[], nodeOptions?: string): string;
/** Run a CommonJS file with V8's code cache kept beside it; its module.exports (see code-cache.mjs). */
export function runWithCodeCache(file: string, onCache?: (state: 'accepted' | 'rejected' | 'missing') => void): unknown;
/** Compile packages' CommonJS files with one code cache in `dir` from now on (see code-cache.mjs). */
export function cachePackages(dir: string): void;
