import { createRequire } from 'node:module';
import * as tf from '@tensorflow/tfjs';
import { BackboneError } from '../errors.ts';
import { matrix, type Matrix } from '../util/matrix.ts';
import type { KerasModelFiles } from './keras/topology.ts';

/** The only module that picks tfjs backends. Order: tfjs-node-gpu → tfjs-node → wasm → cpu. */
export const TFJS_VERSION: string = tf.version.tfjs;
const require = createRequire(import.meta.url);

let chosen: Promise<string> | undefined;

/** Register the best installed tfjs backend once; returns its name (`tensorflow`, `wasm` or `cpu`). */
export function tfjsBackend(): Promise<string> {
  chosen ??= (async () => {
    for (const pkg of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
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
        if (await tf.setBackend(name)) {
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

export interface TfjsModel {
  /** [batch, h, w, c] input → one [batch, d] matrix per tap (4-D taps globally average-pooled). */
  run(input: Float32Array, dims: number[]): Promise<Matrix[]>;
  dispose(): void;
}

/** Load a Keras layers model from memory and cut it at the taps. */
export async function loadTfjsModel(files: KerasModelFiles, taps: string[]): Promise<TfjsModel> {
  const weightData = files.weightData.buffer.slice(files.weightData.byteOffset, files.weightData.byteOffset + files.weightData.byteLength);
  const full = await tf.loadLayersModel(
    tf.io.fromMemory({ modelTopology: files.modelTopology as tf.io.ModelJSON['modelTopology'], weightSpecs: files.weightSpecs, weightData }),
  );
  const sub = tf.model({ inputs: full.inputs, outputs: taps.map((t) => full.getLayer(t).output as tf.SymbolicTensor) });
  return {
    async run(input, dims) {
      const outs = tf.tidy(() => {
        const y = sub.predict(tf.tensor(input, dims)) as tf.Tensor | tf.Tensor[];
        return (Array.isArray(y) ? y : [y]).map((t) => (t.rank === 4 ? t.mean([1, 2]) : t.reshape([dims[0], -1])));
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
