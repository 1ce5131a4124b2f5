import { createRequire } from 'node:module';
import type { Argv } from 'yargs';
import { hideBin } from 'yargs/helpers';
import { printable, ReprobeError, systemError } from '../errors.ts';
import { COMMANDS } from './commands.ts';

// yargs' CommonJS build: its ES module build lays help out with cliui's ESM wrap, which cuts words at the column
// ("logistic-reg / ression"); the CommonJS one wraps at word boundaries (wrap-ansi).
const yargs = createRequire(import.meta.url)('yargs/yargs') as (args: string[]) => Argv;

/** The yargs program with every command, laid out `width` columns wide (null: no wrapping). */
export function program(args: string[], width: number | null = Math.min(110, process.stdout.columns || 110)): Argv {
  const parser = yargs(args);
  let p = parser
    .scriptName('reprobe')
    .usage('$0 <command> [options]\n\nCompare frozen image representations with the probes of representation-learning papers.');
  for (const c of COMMANDS) p = c.register(p);
  const names = COMMANDS.map((c) => c.name);
  return p
    .example('$0 probe --backbone mobilenet-v2 --dataset mnist --shots 10', 'the quick start: probes on real digits, offline')
    .example('$0 probe --backbone mobilenet-v2,inception-v3 --dataset mnist --shots 10', 'two backbones side by side')
    .example('$0 models list', 'the backbones reprobe knows')
    .demandCommand(1, `Name a command: ${names.slice(0, -1).join(', ')} or ${names.at(-1)}. See \`reprobe --help\`.`)
    .strict()
    // Once the command's options are known, so that a flag and its alias (-k and --shots) count as one.
    .middleware(() => {
      refuseDashValues(args);
      refuseRepeats(args, (parser as unknown as YargsOptions).getOptions().alias);
    }, true)
    .recommendCommands()
    .fail((msg, err) => {
      // yargs' own messages (bad choices, missing arguments) can span lines: one line, as every reprobe error.
      throw err ?? new ReprobeError(msg.replace(/\s*\n\s*/g, ' ').trim());
    })
    .help()
    .alias('h', 'help')
    .version()
    .wrap(width);
}

/** The help yargs prints for `reprobe <args> --help`, laid out `width` columns wide (null: unwrapped), without exiting. */
export function helpText(args: string[], width: number | null): Promise<string> {
  return new Promise((resolve, reject) => {
    program([...args, '--help'], width)
      .exitProcess(false)
      .parse([...args, '--help'], {}, (err, _argv, output) => (err ? reject(err) : resolve(output)));
  });
}

/** Thin CLI: parses flags, calls the library, prints. Errors a user can fix are one line and exit code 2. */
export async function main(args: string[]): Promise<void> {
  await program(args).parseAsync();
}

export async function run(): Promise<void> {
  // A reader that stops early (`reprobe models list | head -1`) closes the pipe; the rest of the output has nowhere to
  // go, which is no error (as for ls or cat): end quietly instead of dying on an unhandled 'error' event.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
    process.exit(0);
  });
  try {
    await main(hideBin(process.argv));
  } catch (thrown) {
    // A file-system error that escaped every command's own check (a full disk, a read-only folder) names its path.
    const err = systemError(thrown) ?? thrown;
    if (err instanceof ReprobeError) {
      // Every value a message echoes (a YAML value, a class name) may hold control characters: escaped, one line.
      process.stderr.write(`reprobe: ${printable(err.message)}\n`);
      process.exitCode = 2;
    } else {
      const e = err as Error;
      process.stderr.write(`reprobe: internal error: ${printable(String(e?.message ?? e))}\n${process.env.REPROBE_DEBUG ? `${e?.stack}\n` : 'Set REPROBE_DEBUG=1 for the stack trace.\n'}`);
      process.exitCode = 1;
    }
  }
}

/** yargs 17 has getOptions (each flag's aliases, once the command's builder ran); its types do not list it. */
interface YargsOptions {
  getOptions(): { alias: Record<string, string[]> };
}

/**
 * A value that starts with `-` and a digit but is not a plain number (`--lr-c -1,0`, `--shard -1/2`) is read by yargs
 * as flags of its own (`-1`) and ends in "Unknown argument: 1": name the flag and the form that passes the value.
 */
function refuseDashValues(args: readonly string[]): void {
  for (const [i, a] of args.entries()) {
    if (a === '--') return;
    // yargs takes a plain negative number (`--seed -1`) as a value; `-1,0` or `-1/2` it reads as flags.
    if (!/^-[\d.]/.test(a) || /^-(\d+(\.\d+)?|\.\d+)$/.test(a)) continue;
    const flag = i > 0 && /^--?[a-zA-Z][\w-]*$/.test(args[i - 1]) ? args[i - 1] : undefined;
    const v = /[\s"'$]/.test(a) ? JSON.stringify(a) : a; // as a shell would need it: --text="-1 cat
    throw new ReprobeError(
      flag
        ? `${flag} ${a}: a value starting with "-" is read as a flag; write ${flag}=${v}.`
        : `${a}: a value starting with "-" is read as a flag; join it to its flag with "=" (--flag=${v}).`,
    );
  }
}

/** Flags that take lists and may be given more than once (their values join). */
const REPEATABLE = new Set(['backbone', 'b', 'probe', 'knn-k', 'lr-c']);

/**
 * A single-valued flag given twice is a mistake, and yargs would not say so: it keeps one value, makes a list, or
 * (numbers, 5 then 1) adds them up.
 */
function refuseRepeats(args: readonly string[], aliases: Record<string, string[]>): void {
  const canonical = new Map<string, string>();
  // yargs lists each group under every name; the longest name is the flag's.
  for (const [name, others] of Object.entries(aliases)) {
    const longest = [name, ...others].reduce((a, b) => (b.length > a.length ? b : a));
    for (const n of [name, ...others]) canonical.set(n, longest);
  }
  const seen = new Map<string, string>();
  for (const a of args) {
    if (a === '--') break;
    const m = /^--(?:no-)?([a-z][\w-]*)|^-([a-zA-Z])$/.exec(a.split('=')[0]);
    if (!m) continue;
    const given = m[1] ?? m[2];
    const name = canonical.get(given) ?? given;
    if (REPEATABLE.has(name) || REPEATABLE.has(given)) continue;
    const first = seen.get(name);
    const dash = (n: string) => (n.length === 1 ? `-${n}` : `--${n}`);
    if (first !== undefined) throw new ReprobeError(`--${name} is given more than once${first !== given ? ` (as ${dash(first)} and ${dash(given)})` : ''}; give it once.`);
    seen.set(name, given);
  }
}
