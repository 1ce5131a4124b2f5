import { statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { BackboneError } from '../errors.ts';
import { matrix, vstack, type Matrix } from '../util/matrix.ts';
import { openOnnx, ortVersion, type Device, type OnnxSession, type ValueInfo } from '../runtime/ort.ts';
import { cutAt } from '../runtime/onnx-blocks.ts';
import { pool, POOLING_RANK } from './pooling.ts';
import { featureName, type Backbone, type OnnxCard } from './types.ts';

export interface OnnxOpenOptions {
  threads?: number;
  device?: Device;
  /** Fail instead of falling back to the CPU when `device` cannot be used. */
  strict?: boolean;
}

/** Run an ONNX model file as a backbone: check it against its card, then batch → output → pooled features. */
export async function openOnnxBackbone(card: OnnxCard, modelPath: string, opt: OnnxOpenOptions = {}): Promise<Backbone> {
  const session = await openOnnx(modelPath, { threads: opt.threads, device: opt.device, strict: opt.strict });
  let input: ValueInfo;
  try {
    input = checkAgainstCard(session, card, modelPath);
  } catch (err) {
    await session.dispose();
    throw err;
  }
  // Models exported with a fixed batch (often 1) run in chunks of that size.
  const maxBatch = typeof input.shape[0] === 'number' && input.shape[0] > 0 ? input.shape[0] : Infinity;
  const { height: h, width: w, layout } = card.input;
  const sample = layout === 'NCHW' ? [3, h, w] : [h, w, 3];
  const per = 3 * h * w;
  let checkedDim = false;
  return {
    card,
    tap: featureName(card),
    weights: weightsIdentity(modelPath),
    runtime: `onnxruntime-node ${ortVersion()} (${session.device})`,
    ...(session.fallback ? { warnings: [session.fallback] } : {}),
    async embed(batch, n) {
      const parts: Matrix[] = [];
      for (let s = 0; s < n; s += Math.min(n, maxBatch)) {
        const m = Math.min(n - s, maxBatch);
        const [out] = await session.runRaw({ [input.name]: { type: 'float32', data: batch.subarray(s * per, (s + m) * per), dims: [m, ...sample] } }, [card.output.name]);
        parts.push(pool(out, card.output));
      }
      const features = parts.length === 1 ? parts[0] : vstack(parts);
      if (!checkedDim && card.featureDim !== undefined && features.cols !== card.featureDim) {
        throw new BackboneError(`${card.id}: output "${card.output.name}" gives ${features.cols}-d features, the card says ${card.featureDim}. Is it the right model file (${modelPath})?`);
      }
      checkedDim = true;
      return features;
    },
    dispose: () => session.dispose(),
  };
}

/**
 * Cheap identity of a model file (hashing a 1 GB model on every run would cost seconds): with its ctime and inode, so
 * a file replaced in place with its size and mtime restored is another model (no user call sets ctime).
 */
function weightsIdentity(path: string): string {
  const st = statSync(path);
  return `${path}:${st.size}:${Math.round(st.mtimeMs)}:${Math.round(st.ctimeMs)}:${st.ino}`;
}

/** The model's input and output must be the ones the card names, with shapes that fit it; one clear line otherwise. */
function checkAgainstCard(session: OnnxSession, card: OnnxCard, path: string): ValueInfo {
  const shape = (v: ValueInfo) => `[${v.shape.join(', ')}]`;
  const name = card.input.name ?? session.inputName;
  const input = session.inputs.find((v) => v.name === name);
  if (!input) throw new BackboneError(`${path} has no input "${name}"; its inputs: ${session.inputs.map((v) => `${v.name} ${shape(v)}`).join(', ')}. Fix input.name in the card.`);
  if (input.type !== 'float32') throw new BackboneError(`${path}: input "${name}" is ${input.type}; reprobe feeds float32 images.`);
  const { height, width, layout } = card.input;
  const want = layout === 'NCHW' ? [3, height, width] : [height, width, 3];
  const fits = input.shape.length === 4 && want.every((d, i) => typeof input.shape[i + 1] !== 'number' || input.shape[i + 1] === d);
  if (!fits) {
    throw new BackboneError(`${path}: input "${name}" has shape ${shape(input)} but the card ${card.id} says [batch, ${want.join(', ')}] (${layout}). Fix input height/width/layout in the card.`);
  }
  const output = session.outputs.find((v) => v.name === card.output.name);
  if (!output) throw new BackboneError(`${path} has no output "${card.output.name}"; its outputs: ${session.outputs.map((v) => `${v.name} ${shape(v)}`).join(', ')}. Fix output.name in the card.`);
  const rank = POOLING_RANK[card.output.pooling];
  if (output.shape.length > 0 && output.shape.length !== rank && !(card.output.pooling === 'none' && output.shape.length === 4)) {
    throw new BackboneError(`${path}: output "${output.name}" has shape ${shape(output)}; pooling "${card.output.pooling}" needs rank ${rank}. Fix output.pooling in the card.`);
  }
  return input;
}

/** A frozen prefix for fine-tuning: the model cut at one tensor, whose whole value (flattened) is the "feature". */
export interface CutBackbone extends Backbone {
  /** Shape of the tensor for one image (batch dimension left out). */
  exampleShape(): Promise<number[]>;
}

export async function openOnnxCut(card: OnnxCard, modelPath: string, tensor: string, opt: OnnxOpenOptions = {}): Promise<CutBackbone> {
  const session = await openOnnx(cutAt(new Uint8Array(await readFile(modelPath)), tensor), { threads: opt.threads, device: opt.device, strict: opt.strict });
  const input = card.input.name ?? session.inputName;
  const { height: h, width: w, layout } = card.input;
  const sample = layout === 'NCHW' ? [3, h, w] : [h, w, 3];
  const run = async (batch: Float32Array, n: number) => (await session.runRaw({ [input]: { type: 'float32', data: batch.subarray(0, n * 3 * h * w), dims: [n, ...sample] } }, [tensor]))[0];
  return {
    card,
    tap: `${tensor}[map]`,
    weights: weightsIdentity(modelPath),
    runtime: `onnxruntime-node ${ortVersion()} (${session.device})`,
    ...(session.fallback ? { warnings: [session.fallback] } : {}),
    async embed(batch, n) {
      const out = await run(batch, n);
      return matrix(n, out.data.length / n, Float32Array.from(out.data));
    },
    exampleShape: async () => (await run(new Float32Array(3 * h * w), 1)).dims.slice(1),
    dispose: () => session.dispose(),
  };
}
