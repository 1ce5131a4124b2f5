import { isModelPath, resolveBackbone, type ResolvedBackbone } from '../backbones/registry.ts';
import { datasetEntry, loadDataset } from '../data/registry.ts';
import type { Dataset } from '../data/types.ts';
import { ConfigError } from '../errors.ts';

export interface InputsSpec {
  backbones: readonly string[];
  /** Card file for the backbones given as model files. */
  card?: string;
  dataset: string;
  dataRoot?: string;
}

/**
 * What every job opens first, in the order that fails fastest: the dataset name, then each backbone's card and files
 * (hub files download here, once), then the dataset itself.
 */
export async function openInputs(spec: InputsSpec, onDownload?: (file: string, bytes: number, total: number | undefined) => void): Promise<{ backbones: ResolvedBackbone[]; dataset: Dataset }> {
  datasetEntry(spec.dataset);
  if (spec.card && !spec.backbones.some(isModelPath)) {
    throw new ConfigError(`--card describes a model file given as --backbone path/model.onnx; ${spec.backbones.join(', ')} ${spec.backbones.length > 1 ? 'are named backbones' : 'is a named backbone'} with a built-in card (drop --card).`);
  }
  const backbones: ResolvedBackbone[] = [];
  const seen = new Set<string>();
  for (const name of spec.backbones) {
    const r = await resolveBackbone(name, { card: spec.card, onDownload });
    // One model under two names (an alias, another spelling of a path) runs once.
    const identity = r.card.source.kind === 'file' ? `file:${r.card.source.path}` : r.card.id;
    if (seen.has(identity)) continue;
    seen.add(identity);
    backbones.push(r);
  }
  return { backbones, dataset: await loadDataset(spec.dataset, spec.dataRoot) };
}
