import { CARDS } from '../backbones/cards/index.ts';
import { hubFiles, reprobeCachePath } from '../backbones/hub.ts';
import { kerasLayers } from '../backbones/keras-backbone.ts';
import { fetchModel, isCached, resolveCard } from '../backbones/registry.ts';
import { featureName, isKerasCard } from '../backbones/types.ts';
import { DATASETS } from '../data/registry.ts';
import { ConfigError } from '../errors.ts';
import { formatTable } from '../report/table.ts';
import { progressBar } from './progress.ts';

export function modelsList(): void {
  const rows = CARDS.map((c) => [
    [c.id, ...(c.aliases ?? [])].join(', '),
    c.params,
    c.featureDim ?? '?',
    isKerasCard(c) ? `${c.pooling} @ ${c.tap}` : `${c.output.pooling} @ ${c.output.name}`,
    `${c.input.height}x${c.input.width}`,
    c.source.kind === 'nsfwjs' ? 'embedded' : isCached(c) ? 'yes' : 'no',
    c.summary,
  ]);
  process.stdout.write(formatTable(['name', 'params', 'dim', 'pooling', 'input', 'cached', 'about'], rows) + '\n');
}

export function modelsInfo(name: string): void {
  const card = resolveCard(name);
  const files = card.source.kind === 'hub' ? hubFiles(card.source, isKerasCard(card) ? undefined : card.text?.file).map(reprobeCachePath) : [];
  process.stdout.write(JSON.stringify({ ...card, feature: featureName(card), cached: isCached(card), ...(files.length ? { cachePaths: files } : {}) }, null, 2) + '\n');
}

export function modelsLayers(name: string): void {
  const card = resolveCard(name);
  if (!isKerasCard(card)) throw new ConfigError(`${card.id} is an ONNX model: its features come from output "${card.output.name}" (${card.output.pooling} pooling); layers are listed for the Keras backbones only.`);
  const rows = kerasLayers(card).map((l) => [l.name, l.type, l.name === card.tap ? '<- tap' : card.altTaps.includes(l.name) ? 'swept' : '']);
  process.stdout.write(formatTable(['layer', 'type', ''], rows) + '\n');
}

export async function modelsPull(name: string): Promise<void> {
  const card = resolveCard(name);
  if (isKerasCard(card)) {
    process.stderr.write(`${card.id} is embedded in an npm package; nothing to download.\n`);
    return;
  }
  const bars = new Map<string, ReturnType<typeof progressBar>>();
  const paths = await fetchModel(card, (file, bytes, total) => {
    let bar = bars.get(file);
    if (!bar) bars.set(file, (bar = progressBar(`pull ${file}`, { unit: 'MB', scale: 1e-6 })));
    bar.update(bytes, total ?? bytes);
  });
  for (const b of bars.values()) b.stop();
  process.stdout.write(Object.values(paths).map((p) => `${card.id}: ${p}\n`).join(''));
}

export function datasetsList(): void {
  const rows = [...DATASETS.values()].map((d) => [d.arg ? `${d.name}:${d.arg}` : d.name, d.summary]);
  process.stdout.write(formatTable(['dataset', 'about'], rows) + '\n');
}
