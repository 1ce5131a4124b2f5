import protos from 'onnx-proto';
import { BackboneError } from '../errors.ts';

const { onnx } = protos;

/** A unit of fine-tuning in an ONNX graph: the nodes after the previous block's end, up to the one making `end`. */
export interface OnnxBlock {
  /** The tensor the block hands on: every path from the input to the output passes through it. */
  end: string;
  nodes: number;
  params: number;
}

/**
 * The blocks of an ONNX model up to `output`: a block ends at each tensor whose name matches `pattern` and that the
 * whole graph passes through (no later node reads anything computed before it, constants and shape arithmetic on
 * constants aside); the output ends the last block.
 */
export function onnxBlocks(bytes: Uint8Array, pattern: string, output: string): OnnxBlock[] {
  const graph = onnx.ModelProto.decode(bytes).graph!;
  const nodes = graph.node ?? [];
  const sizes = new Map((graph.initializer ?? []).map((t) => [t.name ?? '', (t.dims ?? []).reduce((a: number, d) => a * Number(d), 1)]));
  // Tensors that do not depend on the input: initializers, constants, and what is computed from them alone.
  const free = new Set(sizes.keys());
  const producer = new Map<string, number>();
  nodes.forEach((n, i) => {
    const ins = (n.input ?? []).filter(Boolean);
    for (const o of n.output ?? []) {
      producer.set(o, i);
      if (n.opType === 'Constant' || ins.every((t) => free.has(t))) free.add(o);
    }
  });
  const last = producer.get(output);
  if (last === undefined) throw new BackboneError(`Tensor "${output}" is not computed in the model.`);
  // earliest[i]: the earliest node whose output a node from i on reads (graph inputs count as -1).
  const earliest = new Array<number>(nodes.length + 1).fill(Infinity);
  for (let i = nodes.length - 1; i >= 0; i--) {
    const reads = (nodes[i].input ?? []).filter((t) => t && !free.has(t)).map((t) => producer.get(t) ?? -1);
    earliest[i] = Math.min(earliest[i + 1], ...reads);
  }
  const re = new RegExp(pattern);
  const ends: number[] = [];
  nodes.forEach((n, i) => {
    const outs = (n.output ?? []).filter((o) => !free.has(o));
    if (i < last && outs.length === 1 && re.test(outs[0]) && earliest[i + 1] >= i) ends.push(i);
  });
  ends.push(last);
  let start = 0;
  return ends.map((end) => {
    const span = nodes.slice(start, end + 1);
    start = end + 1;
    const params = span.flatMap((n) => n.input ?? []).filter((t, k, all) => sizes.has(t) && all.indexOf(t) === k).reduce((a, t) => a + sizes.get(t)!, 0);
    return { end: end === last ? output : nodes[end].output!.find((o) => !free.has(o))!, nodes: span.length, params };
  });
}

/** The model with `tensor` as its only output (a frozen prefix ending at a cut). */
export function cutAt(bytes: Uint8Array, tensor: string): Uint8Array {
  const model = onnx.ModelProto.decode(bytes);
  const graph = model.graph!;
  graph.output = [onnx.ValueInfoProto.create({ name: tensor, type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT } } })];
  return onnx.ModelProto.encode(model).finish();
}
