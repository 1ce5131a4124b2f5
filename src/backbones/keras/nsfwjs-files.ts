import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { BackboneError } from '../../errors.ts';
import type { KerasLayer, KerasModelFiles, WeightSpec } from '../../runtime/keras/topology.ts';

const require = createRequire(import.meta.url);

interface ModelJson {
  modelTopology: { model_config: { config: { layers: KerasLayer[] } } };
  weightsManifest: { paths: string[]; weights: WeightSpec[] }[];
}

/** The installed nsfwjs version: its weights ship inside the package. */
export function nsfwjsVersion(): string {
  return (JSON.parse(readFileSync(join(nsfwjsRoot(), 'package.json'), 'utf8')) as { version: string }).version;
}

/** Root folder of the installed nsfwjs package (its exports map hides dist/models, so resolve by path). */
function nsfwjsRoot(): string {
  try {
    return join(dirname(require.resolve('nsfwjs')), '..', '..');
  } catch {
    throw new BackboneError('The nsfwjs package is not installed; run `npm ci` in the reprobe folder.');
  }
}

/** Load one bundled nsfwjs layers model (model.json + base64 weight shards) from node_modules, offline. */
export function loadNsfwjsModel(model: string): KerasModelFiles {
  const dir = join(nsfwjsRoot(), 'dist', 'models', model);
  let json: ModelJson;
  try {
    json = require(join(dir, 'model.min.js')) as ModelJson;
  } catch (err) {
    throw new BackboneError(`Cannot read nsfwjs model "${model}" in ${dir}: ${(err as Error).message}`);
  }
  const chunks: Buffer[] = [];
  const weightSpecs: WeightSpec[] = [];
  for (const group of json.weightsManifest) {
    for (const path of group.paths) chunks.push(Buffer.from(require(join(dir, `${path}.min.js`)) as string, 'base64'));
    weightSpecs.push(...group.weights);
  }
  const layers = json.modelTopology.model_config.config.layers;
  const input = layers.find((l) => l.class_name === 'InputLayer');
  const shape = (input?.config.batch_input_shape as (number | null)[] | undefined) ?? [];
  return {
    layers,
    inputShape: shape.slice(1).map((d) => d ?? -1),
    weightSpecs,
    weightData: new Uint8Array(Buffer.concat(chunks)),
    modelTopology: json.modelTopology,
  };
}
