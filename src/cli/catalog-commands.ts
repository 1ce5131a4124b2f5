import { CARDS } from '../backbones/cards.ts';
import { kerasLayers } from '../backbones/keras-backbone.ts';
import { resolveCard } from '../backbones/registry.ts';
import { DATASETS } from '../data/registry.ts';
import { formatTable } from '../report/table.ts';

export function modelsList(): void {
  const rows = CARDS.map((c) => [c.id, c.params, `${c.input.height}x${c.input.width}`, c.tap, c.featureDim, c.pooling, c.summary]);
  process.stdout.write(formatTable(['name', 'params', 'input', 'tap', 'dim', 'pooling', 'about'], rows) + '\n');
}

export function modelsInfo(name: string): void {
  process.stdout.write(JSON.stringify(resolveCard(name), null, 2) + '\n');
}

export function modelsLayers(name: string): void {
  const card = resolveCard(name);
  const rows = kerasLayers(card).map((l) => [l.name, l.type, l.name === card.tap ? '<- tap' : card.altTaps.includes(l.name) ? 'swept' : '']);
  process.stdout.write(formatTable(['layer', 'type', ''], rows) + '\n');
}

export function datasetsList(): void {
  const rows = [...DATASETS.values()].map((d) => [d.arg ? `${d.name}:${d.arg}` : d.name, d.summary]);
  process.stdout.write(formatTable(['dataset', 'about'], rows) + '\n');
}
