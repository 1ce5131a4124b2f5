import type { Command } from './command.ts';
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

/** Every command, in the order `reprobe --help` lists them. */
export const COMMANDS: readonly Command[] = [probeCommand, finetuneCommand, clusterCommand, zeroshotCommand, explainCommand, sweepCommand, resultsCommand, reportCommand, compareCommand, extractCommand, cacheCommand, modelsCommand, tokenizeCommand, datasetsCommand, doctorCommand];
