import { availableParallelism } from 'node:os';
import * as ort from 'onnxruntime-node';
import { BackboneError } from '../errors.ts';
import { matrix, type Matrix } from '../util/matrix.ts';

/** The only module that imports onnxruntime. Everything else sees Matrix. */
export const ORT_VERSION: string = ort.env.versions?.node ?? 'unknown';

export interface OnnxSession {
  inputName: string;
  outputNames: string[];
  /** float32 input of shape `dims` → one [batch, d] matrix per requested output. */
  run(input: Float32Array, dims: number[], outputs?: string[]): Promise<Matrix[]>;
  dispose(): Promise<void>;
}

export interface SessionOptions {
  threads?: number;
}

/** Open an ONNX model (path or bytes) on the CPU execution provider with full graph optimization. */
export async function openOnnx(model: string | Uint8Array, opt: SessionOptions = {}): Promise<OnnxSession> {
  const options: ort.InferenceSession.SessionOptions = {
    executionProviders: ['cpu'],
    graphOptimizationLevel: 'all',
    intraOpNumThreads: opt.threads ?? availableParallelism(),
    interOpNumThreads: 1,
    executionMode: 'sequential',
    // Idle ORT threads yield the cores to image decoding instead of spinning.
    extra: { session: { intra_op: { allow_spinning: '0' } } },
  };
  let session: ort.InferenceSession;
  try {
    // Two calls because create() has separate overloads for a path and for bytes.
    session = typeof model === 'string' ? await ort.InferenceSession.create(model, options) : await ort.InferenceSession.create(model, options);
  } catch (err) {
    const what = typeof model === 'string' ? `"${model}"` : 'the converted model';
    throw new BackboneError(`onnxruntime cannot load ${what}: ${firstLine(err)}`);
  }
  return {
    inputName: session.inputNames[0],
    outputNames: [...session.outputNames],
    async run(input, dims, outputs = [...session.outputNames]) {
      const feeds = { [session.inputNames[0]]: new ort.Tensor('float32', input, dims) };
      const result = await session.run(feeds, outputs);
      return outputs.map((name) => {
        const t = result[name];
        const rows = Number(t.dims[0]);
        const data = t.data as Float32Array;
        const out = matrix(rows, data.length / rows, new Float32Array(data));
        t.dispose();
        return out;
      });
    },
    dispose: () => session.release(),
  };
}

function firstLine(err: unknown): string {
  return String((err as Error)?.message ?? err).split('\n')[0];
}
