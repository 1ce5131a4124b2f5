import { z } from 'zod';
import { ConfigError } from '../errors.ts';

/**
 * Options a pluggable thing (a probe, a method) owns: a zod shape whose defaults are the one home of those defaults,
 * and how each key is given on the command line. The job schema and the CLI flags are built from these.
 */
export interface FlagSpec {
  /** The flag without dashes, e.g. `knn-k`. */
  flag: string;
  describe: string;
  /** How the flag's text becomes the value: a comma-separated list of numbers, one number, free text, a switch, or one of fixed words. */
  cli: 'numbers' | 'number' | 'text' | 'boolean' | { choices: readonly string[] };
  /**
   * The option's key and flag before a rename (fine-tuning's `lr`, now `learningRate`): files and the command line may
   * still use them for one release, with a warning, and every hash keeps the old key, so cell ids and run folders stay.
   */
  was?: { key: string; flag: string };
}

/** Options with each renamed key back under its old name, in place (the same key order): what hashes see. */
export function withOldNames(options: Record<string, unknown>, flags: Record<string, FlagSpec>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(options).map(([k, v]) => [flags[k]?.was?.key ?? k, v]));
}

/** A file's keys with the old name of a renamed option taken as the new one, and a warning for each (`where`: the file). */
export function takeOldNames(given: Record<string, unknown>, flags: Record<string, FlagSpec>, where: string): { values: Record<string, unknown>; warnings: string[] } {
  const values = { ...given };
  const warnings: string[] = [];
  for (const [key, f] of Object.entries(flags)) {
    if (!f.was || !(f.was.key in values)) continue;
    if (key in values) throw new ConfigError(`${where}: "${f.was.key}" and "${key}" are one option (${key} is its new name); give it once, as ${key}.`);
    values[key] = values[f.was.key];
    delete values[f.was.key];
    warnings.push(`${where}: "${f.was.key}" is now "${key}"; the old name is read until the next release.`);
  }
  return { values, warnings };
}

export type Flags<S extends z.ZodRawShape> = { [K in keyof S]: FlagSpec };

/** The values of a shape when nothing is given: its defaults. */
export function defaultsOf<S extends z.ZodRawShape>(shape: S): z.infer<z.ZodObject<S>> {
  return z.object(shape).parse({});
}

/** The keys of `shape` picked from a job's values and checked (defaults fill the missing ones). */
export function pickOptions<S extends z.ZodRawShape>(shape: S, values: Record<string, unknown>): z.infer<z.ZodObject<S>> {
  return z.object(shape).parse(Object.fromEntries(Object.keys(shape).filter((k) => values[k] !== undefined).map((k) => [k, values[k]])));
}

/** A comma-separated flag (or the flag given several times) → its items. */
export function listOf(raw: unknown): string[] {
  return (Array.isArray(raw) ? raw : [raw]).flatMap((s) => String(s).split(',')).map((s) => s.trim()).filter(Boolean);
}

/** A flag's text (or texts, when repeated) → the value its schema checks. */
export function flagValue(spec: FlagSpec, raw: unknown): unknown {
  if (spec.cli === 'boolean') return raw;
  const texts = listOf(raw);
  if (spec.cli === 'numbers') return texts.map(Number);
  // One value: a list or nothing goes to the schema as it is, which refuses it in one line.
  if (texts.length !== 1) return texts;
  return spec.cli === 'number' ? Number(texts[0]) : texts[0];
}
