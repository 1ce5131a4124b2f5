import { existsSync } from 'node:fs';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { DataError } from '../errors.ts';
import { reprobeHome } from '../util/paths.ts';

/** --data-root, else $REPROBE_DATA, else $REPROBE_HOME/data. */
export function dataRoot(flag?: string): string {
  return resolve(flag || process.env.REPROBE_DATA || join(reprobeHome(), 'data'));
}

/** The first of `names` that exists under root, or one clear error naming what to put where. */
export function findDir(root: string, names: readonly string[], dataset: string, layout: string): string {
  for (const n of names) {
    const p = join(root, n);
    if (existsSync(p)) return p;
  }
  throw new DataError(`${dataset} not found under ${root} (looked for ${names.join(', ')}). Expected: ${layout}. Set --data-root or REPROBE_DATA, or run \`reprobe datasets info ${dataset}\`.`);
}

/** `rel` inside `root`, or undefined when it would escape it (`..`, absolute paths): list files must not reach outside. */
export function insideRoot(root: string, rel: string): string | undefined {
  const norm = rel.replace(/\\/g, '/');
  if (isAbsolute(norm) || /^[a-zA-Z]:/.test(norm)) return undefined;
  const p = resolve(root, norm);
  const r = relative(root, p);
  return r === '' || r.startsWith('..') || isAbsolute(r) ? undefined : p;
}
