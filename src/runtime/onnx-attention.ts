import { statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import protos from 'onnx-proto';
import { BackboneError } from '../errors.ts';
import { openOnnx, type OnnxSession, type SessionOptions, type Tensor } from './ort.ts';

/**
 * The attention probabilities of a transformer's ONNX graph: each block's Softmax over [batch, heads, tokens, tokens]
 * (or [batch·heads, tokens, tokens], as older CLIP exports compute it) added as graph outputs, so rollout reads them
 * on onnxruntime at inference speed.
 */
const { onnx } = protos;
type NodeProto = protos.onnx.INodeProto;

/** Ops that hand a tensor on unchanged between the Softmax and its MatMul with V. */
const PASS_THROUGH = new Set(['Identity', 'Dropout', 'Cast']);

/**
 * Names of the attention probabilities in block (graph) order: outputs of Softmax nodes that a MatMul reads as its
 * left operand (probabilities · V), directly or through Identity, Dropout or Cast.
 */
export function attentionTensors(bytes: Uint8Array): string[] {
  const nodes = onnx.ModelProto.decode(bytes).graph?.node ?? [];
  const readers = new Map<string, NodeProto[]>();
  for (const n of nodes) for (const i of n.input ?? []) readers.set(i, [...(readers.get(i) ?? []), n]);
  const feedsMatMul = (t: string, depth = 0): boolean =>
    (readers.get(t) ?? []).some((n) => (n.opType === 'MatMul' && n.input?.[0] === t) || (depth < 4 && PASS_THROUGH.has(n.opType ?? '') && feedsMatMul(n.output?.[0] ?? '', depth + 1)));
  return nodes.filter((n) => n.opType === 'Softmax' && feedsMatMul(n.output?.[0] ?? '')).map((n) => n.output![0]);
}

/** The model with every attention Softmax output appended to its outputs (block order); one BackboneError when it has none. */
export function withAttentionOutputs(bytes: Uint8Array, what = 'the model'): { bytes: Uint8Array; attention: string[] } {
  const attention = attentionTensors(bytes);
  if (!attention.length) {
    throw new BackboneError(
      `${what} has no attention Softmax (a Softmax whose output a MatMul with V reads); attention maps need a transformer exported without fused attention ops (optimum-cli export onnx, no --optimize).`,
    );
  }
  const model = onnx.ModelProto.decode(bytes);
  const graph = model.graph!;
  const have = new Set((graph.output ?? []).map((o) => o.name));
  for (const name of attention) {
    if (!have.has(name)) graph.output!.push(onnx.ValueInfoProto.create({ name, type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT } } }));
  }
  return { bytes: onnx.ModelProto.encode(model).finish(), attention };
}

interface Cached {
  key: string;
  session: Promise<{ session: OnnxSession; attention: string[] }>;
}
/** The last model's session (rewriting and opening a ViT takes seconds; explaining runs image after image on one). */
let cached: Cached | undefined;

/** What determines a model file's content for the cache: path, size and modification time. */
function fileKey(path: string, opt: SessionOptions): string {
  const st = statSync(path, { throwIfNoEntry: false });
  if (!st) throw new BackboneError(`Model file "${path}" does not exist.`);
  return `${path}|${st.size}|${st.mtimeMs}|${opt.threads ?? ''}|${opt.device ?? 'cpu'}`;
}

async function attentionSession(path: string, opt: SessionOptions): Promise<{ session: OnnxSession; attention: string[] }> {
  const key = fileKey(path, opt);
  if (cached?.key === key) return cached.session;
  const previous = cached;
  const session = (async () => {
    const rewritten = withAttentionOutputs(new Uint8Array(await readFile(path)), `"${path}"`);
    return { session: await openOnnx(rewritten.bytes, opt), attention: rewritten.attention };
  })();
  cached = { key, session };
  // A model that failed to load is not kept; the previous one is closed.
  session.catch(() => {
    if (cached?.session === session) cached = undefined;
  });
  if (previous) await previous.session.then((s) => s.session.dispose()).catch(() => undefined);
  return session;
}

/**
 * One preprocessed image ([1, ...dims] in the model's layout) → each block's attention probabilities, in block order,
 * with onnxruntime's shapes ([1, heads, T, T] or [heads, T, T]).
 */
export async function runAttention(path: string, pixels: Float32Array, dims: number[], opt: SessionOptions = {}): Promise<Tensor[]> {
  const { session, attention } = await attentionSession(path, opt);
  return session.runRaw({ [session.inputName]: { type: 'float32', data: pixels, dims } }, attention);
}
