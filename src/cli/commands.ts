import { METHODS } from '../jobs/methods.ts';
import type { Method } from '../method/contract.ts';
import type { Command } from './command.ts';
import { methodCommand } from './method-command.ts';
import { datasetsCommand } from './datasets-command.ts';
import { modelsCommand } from './models-command.ts';
import { clusterCommand } from './cluster-command.ts';
import { compareCommand } from './compare-command.ts';
import { doctorCommand } from './doctor-command.ts';
import { explainCommand } from './explain-command.ts';
import { cacheCommand, extractCommand } from './extract-command.ts';
import { finetuneCommand } from './finetune-command.ts';
import { probeCommand } from './probe-command.ts';
import { reportCommand } from './report-command.ts';
import { resultsCommand } from './results-command.ts';
import { sweepCommand } from './sweep-command.ts';
import { tokenizeCommand } from './tokenize-command.ts';
import { zeroshotCommand } from './zeroshot-command.ts';

/** The method commands with a file of their own: what they run beyond their methods' options (several probes, shot levels and heads, resuming). */
const BESPOKE: ReadonlyMap<string, Command> = new Map([probeCommand, finetuneCommand, clusterCommand, zeroshotCommand].map((c) => [c.name, c]));

/** The commands the methods name, in registry order: the bespoke one, else one built from the methods' options. */
export function methodCommands(methods: readonly Method[]): Command[] {
  const names = [...new Set(methods.map((m) => m.command))];
  return names.map((name) => BESPOKE.get(name) ?? methodCommand(name, methods.filter((m) => m.command === name)));
}

/** Every command, in the order `reprobe --help` lists them: the methods' commands first. */
export const COMMANDS: readonly Command[] = [...methodCommands([...METHODS.values()]), explainCommand, sweepCommand, resultsCommand, reportCommand, compareCommand, extractCommand, cacheCommand, modelsCommand, tokenizeCommand, datasetsCommand, doctorCommand];
