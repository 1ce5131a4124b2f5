import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { ReprobeError } from '../errors.ts';
import { datasetsList, modelsInfo, modelsLayers, modelsList } from './catalog-commands.ts';
import { probeCommand, probeOptions } from './probe-command.ts';

/** Thin CLI: parses flags, calls the library, prints. Errors a user can fix are one line and exit code 2. */
export async function main(args: string[]): Promise<void> {
  await yargs(args)
    .scriptName('reprobe')
    .usage('$0 <command> [options]\n\nCompare frozen image representations with the probes of representation-learning papers.')
    .command('probe', 'extract features with one or more backbones and score kNN and logistic-regression probes', probeOptions, probeCommand)
    .command('models <action> [name]', 'list backbones (list), show a card (info NAME), list layers for --layer (layers NAME)', (y) =>
      y
        .positional('action', { choices: ['list', 'info', 'layers'] as const, demandOption: true })
        .positional('name', { type: 'string' })
        .example('$0 models list', 'name, parameters, input size, tap and feature size of each backbone')
        .example('$0 models info inception-v3', 'the full card as JSON')
        .example('$0 models layers mobilenet-v2', 'layer names for --layer; the tap and the swept layers are marked'),
      (a) => {
        if (a.action === 'list') return modelsList();
        if (!a.name) throw new ReprobeError(`\`reprobe models ${a.action}\` needs a backbone name, e.g. \`reprobe models ${a.action} mobilenet-v2\`.`);
        return a.action === 'info' ? modelsInfo(a.name) : modelsLayers(a.name);
      },
    )
    .command('datasets list', 'list dataset kinds', (y) => y.example('$0 datasets list', 'mnist, folder:<path>'), datasetsList)
    .example('$0 probe --backbone mobilenet-v2 --dataset mnist --shots 10', 'the quick start: probes on real digits, offline')
    .example('$0 probe --backbone mobilenet-v2,inception-v3 --dataset mnist --shots 10', 'two backbones side by side')
    .example('$0 models list', 'the backbones reprobe knows')
    .demandCommand(1, 'Name a command: probe, models or datasets. See `reprobe --help`.')
    .strict()
    .recommendCommands()
    .fail((msg, err) => {
      throw err ?? new ReprobeError(msg);
    })
    .help()
    .alias('h', 'help')
    .version()
    .wrap(Math.min(110, process.stdout.columns || 110))
    .parseAsync();
}

export async function run(): Promise<void> {
  try {
    await main(hideBin(process.argv));
  } catch (err) {
    if (err instanceof ReprobeError) {
      process.stderr.write(`reprobe: ${err.message}\n`);
      process.exitCode = 2;
    } else {
      const e = err as Error;
      process.stderr.write(`reprobe: internal error: ${e?.message ?? e}\n${process.env.REPROBE_DEBUG ? `${e?.stack}\n` : 'Set REPROBE_DEBUG=1 for the stack trace.\n'}`);
      process.exitCode = 1;
    }
  }
}
