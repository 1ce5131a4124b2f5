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
 * constants or on the input's shape aside). The output ends the last block: when it does not match, what follows the
 * last matching tensor (a final norm, a pooler, a projection) trains with the unit that tensor ends, so a pattern
 * matching every layer's output gives one block per layer.
 */
export function onnxBlocks(bytes: Uint8Array, pattern: string, output: string): OnnxBlock[] {
  const { nodes, sizes, free, last, ends } = unitEnds(bytes, pattern, output);
  // The output ends the last block: a unit of its own when it matches, else what follows the last match joins that unit.
  if (ends.length && !new RegExp(pattern).test(output)) ends.pop();
  ends.push(last);
  let start = 0;
  return ends.map((end) => {
    const span = nodes.slice(start, end + 1);
    start = end + 1;
    const params = span.flatMap((n) => n.input ?? []).filter((t, k, all) => sizes.has(t) && all.indexOf(t) === k).reduce((a, t) => a + sizes.get(t)!, 0);
    return { end: end === last ? output : nodes[end].output!.find((o) => !free.has(o))!, nodes: span.length, params };
  });
}

/** The last tensor before `output` that matches `pattern` and that the whole graph passes through (the last unit's end). */
export function lastUnitEnd(bytes: Uint8Array, pattern: string, output: string): string | undefined {
  const { nodes, free, ends } = unitEnds(bytes, pattern, output);
  const i = ends.at(-1);
  return i === undefined ? undefined : nodes[i].output!.find((o) => !free.has(o));
}

/** Indices of the nodes making the matching tensors the whole graph passes through, before the node making `output`. */
function unitEnds(bytes: Uint8Array, pattern: string, output: string) {
  const graph = onnx.ModelProto.decode(bytes).graph!;
  const nodes = graph.node ?? [];
  const sizes = new Map((graph.initializer ?? []).map((t) => [t.name ?? '', (t.dims ?? []).reduce((a: number, d) => a * Number(d), 1)]));
  // Parameters the exporter deduplicated are Identity copies of one initializer (onnx-tfjs.ts trains them apart).
  for (const n of nodes) if (n.opType === 'Identity' && sizes.has(n.input?.[0] ?? '')) sizes.set(n.output![0], sizes.get(n.input![0])!);
  // Tensors that do not depend on the input: initializers, constants, and what is computed from them alone.
  const { free, producer } = shapeArithmetic(nodes, new Set(sizes.keys()));
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
  return { nodes, sizes, free, last, ends };
}

/**
 * Tensors that do not depend on the input's values: initializers, constants, shapes (a cut model is fed the image size
 * the card fixes, so BEiT's position bias sized from its patch grid counts), and what is computed from them alone.
 * `fixed`: the same without shapes (what a translation computes with no input at all).
 */
function shapeArithmetic(nodes: readonly protos.onnx.INodeProto[], inits: Set<string>): { free: Set<string>; fixed: Set<string>; producer: Map<string, number> } {
  const free = new Set(inits);
  const fixed = new Set(inits);
  const producer = new Map<string, number>();
  nodes.forEach((n, i) => {
    const ins = (n.input ?? []).filter(Boolean);
    for (const o of n.output ?? []) {
      producer.set(o, i);
      if (n.opType === 'Constant' || n.opType === 'Shape' || ins.every((t) => free.has(t))) free.add(o);
      if (n.opType === 'Constant' || ins.every((t) => fixed.has(t))) fixed.add(o);
    }
  });
  return { free, fixed, producer };
}

/**
 * What the part of a model after `cut` reads from before it besides the cut: shape arithmetic on the input's size
 * (onnxBlocks cuts where nothing else crosses), to be computed once and given to the translated suffix.
 */
export function cutBoundary(bytes: Uint8Array, cut: string): string[] {
  const graph = onnx.ModelProto.decode(bytes).graph!;
  const nodes = graph.node ?? [];
  const { fixed, producer } = shapeArithmetic(nodes, new Set((graph.initializer ?? []).map((t) => t.name ?? '')));
  const at = producer.get(cut);
  if (at === undefined) throw new BackboneError(`Tensor "${cut}" is not computed in the model.`);
  const inputs = new Set((graph.input ?? []).map((v) => v.name ?? ''));
  const crossing = nodes.slice(at + 1).flatMap((n) => (n.input ?? []).filter((t) => t && t !== cut && !fixed.has(t) && (inputs.has(t) || producer.get(t)! <= at)));
  return [...new Set(crossing)];
}

/** The model with `tensor` as its only output (a frozen prefix ending at a cut). */
export function cutAt(bytes: Uint8Array, tensor: string): Uint8Array {
  const model = onnx.ModelProto.decode(bytes);
  const graph = model.graph!;
  graph.output = [onnx.ValueInfoProto.create({ name: tensor, type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT } } })];
  return onnx.ModelProto.encode(model).finish();
}
