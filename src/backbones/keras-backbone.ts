import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BackboneError, ConfigError } from '../errors.ts';
import { writeFileAtomic } from '../util/atomic.ts';
import { reprobeHome } from '../util/paths.ts';
import { kerasBlocks } from './keras/blocks.ts';
import { loadNsfwjsModel, nsfwjsVersion } from './keras/nsfwjs-files.ts';
import type { KerasModelFiles } from '../runtime/keras/topology.ts';
import { CONVERTER_VERSION, kerasToOnnx, layerHint } from '../runtime/keras/to-onnx.ts';
import { openOnnx, ortVersion, type Device } from '../runtime/ort.ts';
import { loadTfjsModel, tfjsBackend, tfjsVersion } from '../runtime/tfjs.ts';
import type { Backbone, KerasCard } from './types.ts';

export interface KerasOpenOptions {
  /** Feature layer; default the card's tap. */
  layer?: string;
  /** The layer's whole activation map (NHWC, flattened; a frozen prefix for fine-tuning) instead of its global average. */
  unpooled?: boolean;
  /** `auto`: onnxruntime on a converted graph, tfjs if conversion fails. */
  runtime: 'auto' | 'onnx' | 'tfjs';
  threads?: number;
  device?: Device;
  /** Fail instead of falling back to the CPU (or to tfjs, which --device does not move) when `device` cannot be used. */
  strict?: boolean;
}

/** Open a Keras-layers backbone, cut at its tap, on the fastest runtime that can run it. */
export async function openKerasBackbone(card: KerasCard, opt: KerasOpenOptions): Promise<Backbone> {
  const files = loadNsfwjsModel(card.source.model);
  const layer = opt.layer ?? card.tap;
  if (!files.layers.some((l) => l.name === layer)) throw new BackboneError(`Layer "${layer}" is not in ${card.id}. ${layerHint(files.layers)}`);
  // The tap names what the features are (and so keys the feature cache): a map is not its average.
  const tap = opt.unpooled ? `${layer}[map]` : layer;
  const shape = [card.input.height, card.input.width, card.input.channels];
  const strictCuda = opt.strict && opt.device === 'cuda';
  if (strictCuda && opt.runtime === 'tfjs') throw new ConfigError(`--device cuda --strict: ${card.id} on --runtime tfjs would run on tfjs, which --device does not move to the GPU; use --runtime onnx or auto.`);
  if (opt.runtime !== 'tfjs') {
    try {
      const session = await openOnnx(await convertedOnnx(card, files, [layer], !opt.unpooled), { threads: opt.threads, device: opt.device, strict: opt.strict });
      return {
        card,
        tap,
        weights: kerasWeights(card),
        runtime: `onnxruntime-node ${ortVersion()} (${session.device}, graph converted from tfjs layers)`,
        ...(session.fallback ? { warnings: [session.fallback] } : {}),
        embed: async (batch, n) => (await session.run(batch, [n, ...shape]))[0],
        dispose: () => session.dispose(),
      };
    } catch (err) {
      if (opt.runtime === 'onnx' || strictCuda) throw err; // strict: tfjs would run on the CPU
    }
  }
  const backend = await tfjsBackend();
  const model = await loadTfjsModel(files, [layer], !opt.unpooled);
  return {
    card,
    tap,
    weights: kerasWeights(card),
    runtime: `tfjs ${tfjsVersion()} (${backend})`,
    embed: async (batch, n) => (await model.run(batch, [n, ...shape]))[0],
    dispose: async () => model.dispose(),
  };
}

/** The nsfwjs package version names the weights: they ship inside it. */
function kerasWeights(card: KerasCard): string {
  return `nsfwjs@${nsfwjsVersion()}:${card.source.model}`;
}

/** ONNX bytes for these taps, converted once and cached under $REPROBE_HOME/onnx (best effort when unwritable). */
export async function convertedOnnx(card: KerasCard, files: KerasModelFiles, taps: string[], pool = card.pooling === 'gap'): Promise<Uint8Array> {
  const hash = createHash('sha256')
    .update(JSON.stringify({ v: CONVERTER_VERSION, taps, pool, layers: files.layers, specs: files.weightSpecs }))
    .update(files.weightData)
    .digest('hex')
    .slice(0, 16);
  const path = join(reprobeHome(), 'onnx', `${card.id}--${taps.length === 1 ? taps[0] : `${taps.length}taps`}${pool ? '' : '-map'}--${hash}.onnx`);
  const cached = await readFile(path).catch(() => undefined);
  if (cached) return new Uint8Array(cached);
  const bytes = kerasToOnnx(files, { taps, pool });
  await writeFileAtomic(path, bytes).catch(() => undefined);
  return bytes;
}

/** The last layer of each fine-tuning block up to the tap (`reprobe models layers`, `--train last:N`). */
export function kerasBlockEnds(card: KerasCard): string[] {
  return kerasBlocks(loadNsfwjsModel(card.source.model), card.blocks, card.tap).map((b) => b.end);
}

/** Layer names and types of a Keras backbone, in network order (for --layer). */
export function kerasLayers(card: KerasCard): { name: string; type: string }[] {
  return loadNsfwjsModel(card.source.model).layers.map((l) => ({ name: l.name, type: l.class_name }));
}
