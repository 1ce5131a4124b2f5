import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError } from '../errors.ts';

const CONFIGS = join(import.meta.dirname, '..', '..', 'configs');

/** The template set a dataset uses when none is named: the CLIP paper's per-dataset prompts. */
const DATASET_TEMPLATES: Record<string, string> = {
  ucmerced: 'satellite',
  patternnet: 'satellite',
  fmow: 'satellite',
  dtd: 'texture',
  flowers102: 'flowers',
  'fgvc-aircraft': 'aircraft',
  fruits360: 'fruits',
  mnist: 'digits',
};

/** Every prompt of every class, in class order, with what made them (for the record). */
export interface Prompts {
  /** The template set's name, or the file it came from. */
  source: string;
  /** prompts[c] = the prompts of class c. */
  perClass: string[][];
  /** sha256 (16 hex) of the prompts themselves: equal hashes, equal text classifiers. */
  hash: string;
}

/** `<class> = <words>` lines of configs/classnames/<dataset>.txt (or `file`); classes not listed read _ and - as spaces. */
export async function classNames(dataset: string, classes: readonly string[], file?: string): Promise<string[]> {
  const path = file ?? join(CONFIGS, 'classnames', `${dataset}.txt`);
  const map = new Map<string, string>();
  if (file !== undefined || existsSync(path)) {
    const text = await readFile(path, 'utf8').catch((err: NodeJS.ErrnoException) => {
      throw new ConfigError(`Cannot read class names "${path}" (${err.code ?? err.message}).`);
    });
    const lineOf = new Map<string, number>();
    text.split('\n').forEach((line, i) => {
      const t = line.trim();
      if (!t || t.startsWith('#')) return;
      const eq = t.indexOf('=');
      const [cls, words] = [t.slice(0, eq).trim(), t.slice(eq + 1).trim()];
      if (eq < 1 || !cls) throw new ConfigError(`expected "<class> = <words>", got "${t}".`, `${path}:${i + 1}`);
      // An empty name would prompt "a photo of a ."; a class twice would silently take its last line.
      if (!words) throw new ConfigError(`class "${cls}" has no name after "="; give its words or leave the line out.`, `${path}:${i + 1}`);
      if (lineOf.has(cls)) throw new ConfigError(`class "${cls}" is listed twice (first on line ${lineOf.get(cls)}); keep one line.`, `${path}:${i + 1}`);
      lineOf.set(cls, i + 1);
      map.set(cls, words);
    });
    const unknown = [...map.keys()].filter((k) => !classes.includes(k));
    if (unknown.length) throw new ConfigError(`${path}: "${unknown[0]}" is not a class of ${dataset} (${classes.slice(0, 5).join(', ')}, ...).`);
  }
  return classes.map((c) => map.get(c) ?? c.replace(/[_-]+/g, ' ').trim());
}

/**
 * The prompts: a template set by name (configs/templates/<name>.txt; `auto` = the dataset's own), a file of templates
 * (one per line, `{c}` for the class name), or a JSON file of per-class prompts as CLIP_benchmark reads CuPL's
 * (`{"<class>": ["prompt", ...]}`, keyed by the dataset's class or its readable name).
 */
export async function loadPrompts(spec: string, dataset: string, classes: readonly string[], names: readonly string[]): Promise<Prompts> {
  const named = spec === 'auto' ? (DATASET_TEMPLATES[dataset] ?? 'default') : spec;
  const isFile = /[\\/]|\.(txt|json)$/i.test(named);
  const path = isFile ? named : join(CONFIGS, 'templates', `${named}.txt`);
  if (!existsSync(path)) {
    const known = ['auto', 'default', 'imagenet', 'satellite', 'texture', 'flowers', 'aircraft', 'fruits', 'digits'];
    throw new ConfigError(isFile ? `Templates file "${path}" does not exist.` : `Unknown template set "${named}". Known: ${known.join(', ')}, or a path to a .txt or CuPL .json file.`);
  }
  const text = await readFile(path, 'utf8');
  let perClass: string[][];
  if (/\.json$/i.test(path)) {
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch (err) {
      throw new ConfigError(`${path} is not valid JSON: ${(err as Error).message}`);
    }
    if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw new ConfigError(`${path}: expected {"<class>": ["prompt", ...], ...}.`);
    const d = doc as Record<string, unknown>;
    perClass = classes.map((c, i) => {
      const list = d[c] ?? d[names[i]];
      if (!Array.isArray(list) || list.length === 0 || !list.every((p) => typeof p === 'string' && p.trim())) {
        throw new ConfigError(`${path}: class "${c}" needs a non-empty list of prompts.`);
      }
      return list as string[];
    });
  } else {
    const templates = text.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
    if (templates.length === 0) throw new ConfigError(`${path} holds no templates (one per line, {c} for the class name).`);
    const bad = templates.find((t) => !t.includes('{c}'));
    if (bad) throw new ConfigError(`${path}: the template "${bad}" has no {c} for the class name.`);
    perClass = names.map((n) => templates.map((t) => t.replaceAll('{c}', () => n)));
  }
  const hash = createHash('sha256').update(JSON.stringify(perClass)).digest('hex').slice(0, 16);
  return { source: isFile ? path : named, perClass, hash };
}
