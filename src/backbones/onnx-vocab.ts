import protos from 'onnx-proto';

const { onnx } = protos;

/** Ops an id passes through, unchanged in value, on its way to the embedding table's Gather. */
const PASS = new Set(['Cast', 'Reshape', 'Flatten', 'Unsqueeze', 'Squeeze', 'Identity']);

/**
 * The rows of the table a text tower's `input` ids index (the Gather of its token embedding): its vocabulary size, so
 * ids beyond it are refused before onnxruntime fails inside the graph. Undefined when the graph has no such table.
 */
export function embeddingRows(bytes: Uint8Array, input = 'input_ids'): number | undefined {
  const graph = onnx.ModelProto.decode(bytes).graph;
  if (!graph) return undefined;
  const sizes = new Map((graph.initializer ?? []).map((t) => [t.name ?? '', Number(t.dims?.[0] ?? 0)]));
  const ids = new Set([input]);
  for (const n of graph.node ?? []) {
    const from = n.input ?? [];
    if (n.opType === 'Gather' && ids.has(from[1]) && sizes.has(from[0])) return sizes.get(from[0]);
    if (PASS.has(n.opType ?? '') && ids.has(from[0])) for (const o of n.output ?? []) ids.add(o);
  }
  return undefined;
}
