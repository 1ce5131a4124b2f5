import { createRequire } from 'node:module';
import * as tf from '@tensorflow/tfjs';
import { BackboneError } from '../errors.ts';
import { matrix, type Matrix } from '../util/matrix.ts';
import type { KerasModelFiles } from './keras/topology.ts';

/** The only module that picks tfjs backends. Order: tfjs-node-gpu → tfjs-node → wasm → cpu. */
// A function, not a constant: the CLI's bundle loads tfjs on first use (bin/bundle.mjs, lazyRequireExternal).
export const tfjsVersion = (): string => tf.version.tfjs;
const require = createRequire(import.meta.url);

let chosen: Promise<string> | undefined;
const NODE_PACKAGES = ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'];

export const TF_BACKENDS = ['auto', 'tensorflow', 'wasm', 'cpu'] as const;
export type TfBackendChoice = (typeof TF_BACKENDS)[number];

/**
 * Register the best installed tfjs backend once (or the one asked for); returns its name (`tensorflow` for
 * tfjs-node or tfjs-node-gpu, `wasm` or `cpu`).
 */
export function tfjsBackend(want: TfBackendChoice = 'auto'): Promise<string> {
  if (want !== 'auto') return forceBackend(want);
  chosen ??= (async () => {
    for (const pkg of NODE_PACKAGES) {
      try {
        require(pkg); // optional: absent or without its native library on most machines
        if (await tf.setBackend('tensorflow')) return 'tensorflow';
      } catch {
        /* try the next */
      }
    }
    const order = ['wasm', 'cpu'];
    for (const name of order) {
      try {
        if (name === 'wasm') await import('@tensorflow/tfjs-backend-wasm');
        if (await quietly(() => tf.setBackend(name))) {
          await tf.ready();
          return name;
        }
      } catch {
        /* try the next */
      }
    }
    throw new BackboneError(`No tfjs backend could start (tried ${order.join(', ')}).`);
  })();
  return chosen;
}

/**
 * tfjs's cpu backend greets Node users on stderr with four lines of advice at its first tensor; reprobe reports the
 * backend itself, so that first tensor is made here with the warning muted.
 */
async function quietly(f: () => Promise<boolean>): Promise<boolean> {
  const warn = console.warn;
  console.warn = () => undefined;
  try {
    const ok = await f();
    if (ok) tf.scalar(0).dispose();
    return ok;
  } finally {
    console.warn = warn;
  }
}

async function forceBackend(want: Exclude<TfBackendChoice, 'auto'>): Promise<string> {
  const fail = (why: string) => new BackboneError(`tfjs backend "${want}" cannot start: ${why}.`);
  try {
    if (want === 'tensorflow') {
      const loaded = NODE_PACKAGES.some((pkg) => {
        try {
          require(pkg); // optional
          return true;
        } catch {
          return false;
        }
      });
      if (!loaded) throw new Error('absent');
    }
    if (want === 'wasm') await import('@tensorflow/tfjs-backend-wasm');
  } catch {
    throw fail(want === 'tensorflow' ? '@tensorflow/tfjs-node(-gpu) is not installed (its install downloads libtensorflow)' : 'its package does not load');
  }
  if (!(await quietly(() => tf.setBackend(want)))) throw fail('setBackend failed');
  await tf.ready();
  chosen = Promise.resolve(want);
  return want;
}

/** A Keras layers model in memory → a tfjs LayersModel (weights dequantized to float32). */
export async function loadKerasLayers(files: KerasModelFiles): Promise<tf.LayersModel> {
  const weightData = files.weightData.buffer.slice(files.weightData.byteOffset, files.weightData.byteOffset + files.weightData.byteLength);
  return tf.loadLayersModel(tf.io.fromMemory({ modelTopology: files.modelTopology as tf.io.ModelJSON['modelTopology'], weightSpecs: files.weightSpecs, weightData }));
}

export interface TfjsModel {
  /** [batch, h, w, c] input → one [batch, d] matrix per tap (4-D taps globally average-pooled). */
  run(input: Float32Array, dims: number[]): Promise<Matrix[]>;
  dispose(): void;
}

/** Load a Keras layers model from memory and cut it at the taps (4-D taps averaged over space, or flattened NHWC). */
export async function loadTfjsModel(files: KerasModelFiles, taps: string[], pool = true): Promise<TfjsModel> {
  const full = await loadKerasLayers(files);
  const sub = tf.model({ inputs: full.inputs, outputs: taps.map((t) => full.getLayer(t).output as tf.SymbolicTensor) });
  return {
    async run(input, dims) {
      const outs = tf.tidy(() => {
        const y = sub.predict(tf.tensor(input, dims)) as tf.Tensor | tf.Tensor[];
        return (Array.isArray(y) ? y : [y]).map((t) => (t.rank === 4 && pool ? t.mean([1, 2]) : t.reshape([dims[0], -1])));
      });
      const result: Matrix[] = [];
      for (const t of outs) {
        result.push(matrix(t.shape[0], t.shape[1] ?? 1, new Float32Array(await t.data())));
        t.dispose();
      }
      return result;
    },
    dispose: () => full.dispose(),
  };
}
