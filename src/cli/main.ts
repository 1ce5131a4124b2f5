import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { ReprobeError } from '../errors.ts';
import { datasetsInfo, datasetsList, datasetsPull, modelsInfo, modelsLayers, modelsList, modelsPull } from './catalog-commands.ts';
import { cacheCommand, extractCommand, extractOptions } from './extract-command.ts';
import { probeCommand, probeOptions } from './probe-command.ts';

/** Thin CLI: parses flags, calls the library, prints. Errors a user can fix are one line and exit code 2. */
export async function main(args: string[]): Promise<void> {
  await yargs(args)
    .scriptName('reprobe')
    .usage('$0 <command> [options]\n\nCompare frozen image representations with the probes of representation-learning papers.')
    .command('probe', 'extract features with one or more backbones and score kNN and logistic-regression probes', probeOptions, probeCommand)
    .command('extract', 'extract features of a dataset (cached, resumable) and optionally export them as .npy for Python', extractOptions, extractCommand)
    .command(
      'cache <action> [keys..]',
      'list the cached feature matrices (list) or remove them (clear [KEY...], all when no key is given)',
      (y) =>
        y
          .positional('action', { choices: ['list', 'clear'] as const, demandOption: true })
          .positional('keys', { type: 'string', array: true })
          .example('$0 cache list', 'key, state (done or partial), backbone, dataset, shape, size')
          .example('$0 cache clear 3fa2', 'remove the entries whose key starts with 3fa2'),
      (a) => cacheCommand(a.action, (a.keys ?? []).map(String)),
    )
    .command(
      'models <action> [name]',
      'list backbones (list), show a card (info NAME), download a hub model (pull NAME), list layers for --layer (layers NAME)',
      (y) =>
        y
          .positional('action', { choices: ['list', 'info', 'pull', 'layers'] as const, demandOption: true })
          .positional('name', { type: 'string' })
          .epilog(
            'Hub models are cached in $REPROBE_HOME/models (default ~/.cache/reprobe); an existing Hugging Face cache (HF_HUB_CACHE, HF_HOME) is reused. ' +
              'HF_ENDPOINT picks the hub, HF_TOKEN authenticates, HF_HUB_OFFLINE=1 never touches the network.',
          )
          .example('$0 models list', 'name, parameters, feature size, pooling, input size and whether it is cached')
          .example('$0 models info dino', 'the full card of dino-vits16 as JSON, with its cache path')
          .example('$0 models pull clip-vit-b32', 'download the ONNX files (resumable, checksummed) for offline runs')
          .example('$0 models layers mobilenet-v2', 'layer names for --layer; the tap and the swept layers are marked'),
      async (a) => {
        if (a.action === 'list') return modelsList();
        if (!a.name) throw new ReprobeError(`\`reprobe models ${a.action}\` needs a backbone name, e.g. \`reprobe models ${a.action} mobilenet-v2\`.`);
        if (a.action === 'pull') return modelsPull(a.name);
        return a.action === 'info' ? modelsInfo(a.name) : modelsLayers(a.name);
      },
    )
    .command(
      'datasets <action> [name]',
      'list dataset kinds (list), show classes, counts and split sizes (info NAME), fetch one into the data root (pull NAME)',
      (y) =>
        y
          .positional('action', { choices: ['list', 'info', 'pull'] as const, demandOption: true })
          .positional('name', { type: 'string' })
          .option('data-root', { type: 'string', describe: 'folder holding the datasets [default: $REPROBE_DATA, else ~/.cache/reprobe/data]' })
          .example('$0 datasets list', 'every dataset and the study shot levels it has')
          .example('$0 datasets info ucmerced --data-root ../shared/data', "classes, counts, pools and the study's split sizes")
          .example('$0 datasets pull dtd', 'download (resumable) and unpack the official archive; $REPROBE_DATASETS_MIRROR points at a mirror'),
      async (a) => {
        if (a.action === 'list') return datasetsList();
        if (!a.name) throw new ReprobeError(`\`reprobe datasets ${a.action}\` needs a dataset name, e.g. \`reprobe datasets ${a.action} ucmerced\`.`);
        return a.action === 'info' ? datasetsInfo(a.name, a['data-root']) : datasetsPull(a.name, a['data-root']);
      },
    )
    .example('$0 probe --backbone mobilenet-v2 --dataset mnist --shots 10', 'the quick start: probes on real digits, offline')
    .example('$0 probe --backbone mobilenet-v2,inception-v3 --dataset mnist --shots 10', 'two backbones side by side')
    .example('$0 models list', 'the backbones reprobe knows')
    .demandCommand(1, 'Name a command: probe, extract, cache, models or datasets. See `reprobe --help`.')
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
