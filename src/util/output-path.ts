import { realpathSync } from 'node:fs';
import { basename, dirname, relative, resolve, sep } from 'node:path';
import { ConfigError } from '../errors.ts';

/** The real path `p` has or would have: symlinks of its nearest existing folder resolved (the file may not exist yet). */
function realOrWouldBe(p: string): string {
  const abs = resolve(p);
  try {
    return realpathSync(abs);
  } catch {
    const parent = dirname(abs);
    return parent === abs ? abs : `${realOrWouldBe(parent)}${sep}${basename(abs)}`;
  }
}

const inside = (child: string, folder: string) => {
  const rel = relative(folder, child);
  return rel === '' || (!!rel && !rel.startsWith('..') && !rel.startsWith(sep) && rel !== '..');
};

/**
 * One check for every command that writes a file it did not read: the output (`flag`'s value) may not be one of its
 * input files (quantize --out onto the float model), nor lie inside a folder the command or a later one reads whole
 * (a merged file inside the store's records/ is read back as a job's records, so every record counts twice).
 * Paths compare after resolving symlinks and `..`; throws a ConfigError naming the flag, the path and the clash (or
 * that the path is empty).
 */
export function checkOutputPath(out: string, flag: string, against: { inputs?: readonly (string | undefined)[]; folders?: readonly { path: string; what: string }[] }): void {
  // An empty path resolves to the working folder: files would land wherever the command was started.
  if (!out.trim()) throw new ConfigError(`${flag} is empty: name a path (or leave out ${flag} for the default).`);
  const o = realOrWouldBe(out);
  for (const input of against.inputs ?? []) {
    if (input !== undefined && realOrWouldBe(input) === o) throw new ConfigError(`${flag} ${out} is the input ${input}: writing there would overwrite it. Pass another path.`);
  }
  for (const f of against.folders ?? []) {
    if (inside(o, realOrWouldBe(f.path))) throw new ConfigError(`${flag} ${out} is inside ${f.path}, ${f.what}. Pass a path outside it.`);
  }
}
