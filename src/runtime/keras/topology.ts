/** The subset of a Keras (tfjs layers) model.json that reprobe reads. */
export interface KerasLayer {
  name: string;
  class_name: string;
  config: Record<string, unknown>;
  /** inbound_nodes[0] = [[layerName, nodeIndex, tensorIndex, kwargs], ...] */
  inbound_nodes: [string, number, number, unknown][][];
}

export interface WeightSpec {
  name: string;
  shape: number[];
  dtype: 'float32' | 'int32';
  quantization?: { dtype: 'uint8' | 'uint16' | 'float16'; min?: number; scale?: number };
}

export interface KerasModelFiles {
  /** Functional-model layers in topological order. */
  layers: KerasLayer[];
  inputShape: number[];
  weightSpecs: WeightSpec[];
  /** Concatenated weight shards, still quantized as stored. */
  weightData: Uint8Array;
  /** The raw model.json topology, for runtimes that load it themselves. */
  modelTopology: unknown;
}

/** The first inbound layer names of a layer (reprobe's models call each layer once). */
export function inboundNames(layer: KerasLayer): string[] {
  return (layer.inbound_nodes[0] ?? []).map((n) => n[0]);
}
