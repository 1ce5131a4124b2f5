import { existsSync, realpathSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
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

/**
 * `rel` inside `root`, or undefined when it would escape it: the one containment check of every path a user lists under
 * a root (dataset list files, `models verify --ids`, archive entries). Checked on the text (`..`, absolute paths) and on
 * the real path, so a symlink inside the root that points outside it escapes too (of a path not there yet, its deepest
 * existing folder's).
 */
export function insideRoot(root: string, rel: string): string | undefined {
  const norm = rel.replace(/\\/g, '/');
  if (isAbsolute(norm) || /^[a-zA-Z]:/.test(norm)) return undefined;
  const p = resolve(root, norm);
  if (!within(resolve(root), p)) return undefined;
  let existing = p;
  while (!existsSync(existing) && existing !== dirname(existing)) existing = dirname(existing);
  return within(realOf(root), realOf(existing)) ? p : undefined;
}

/** `p` is `root` or below it. */
function within(root: string, p: string): boolean {
  const r = relative(root, p);
  return r === '' || !(r === '..' || r.startsWith(`..${sep}`) || isAbsolute(r));
}

const realOf = (p: string) => {
  try {
    return realpathSync.native(p);
  } catch {
    return resolve(p);
  }
};
