import protos from 'onnx-proto';

const { onnx } = protos;
/** int, ints, string, or float as { f }. */
type Attr = number | number[] | string | { f: number };

/** Small builder over the ONNX protobuf classes: nodes, float/int64 initializers, one dynamic batch axis. */
export class OnnxGraph {
  private nodes: InstanceType<typeof onnx.NodeProto>[] = [];
  private inits: InstanceType<typeof onnx.TensorProto>[] = [];
  private count = 0;

  /** Add a node; returns its (first) output name. Several outputs (Split) are named by the caller. */
  node(op: string, inputs: string[], attrs: Record<string, Attr> = {}, output?: string | string[]): string {
    const outs = Array.isArray(output) ? output : [output ?? `${op.toLowerCase()}_${this.count++}`];
    const attribute = Object.entries(attrs).map(([name, v]) => attribute_(name, v));
    this.nodes.push(onnx.NodeProto.create({ opType: op, input: inputs, output: outs, name: `${outs[0]}_node`, attribute }));
    return outs[0];
  }

  /** float32 initializer; returns its name. */
  float(name: string, dims: number[], values: Float32Array): string {
    const raw = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
    this.inits.push(onnx.TensorProto.create({ name, dims, dataType: onnx.TensorProto.DataType.FLOAT, rawData: raw.slice() }));
    return name;
  }

  int64(name: string, values: number[]): string {
    const raw = new Uint8Array(new BigInt64Array(values.map(BigInt)).buffer);
    this.inits.push(onnx.TensorProto.create({ name, dims: [values.length], dataType: onnx.TensorProto.DataType.INT64, rawData: raw }));
    return name;
  }

  /** Serialize with float32 input [batch, ...inputDims] and float32 outputs [batch, ?]. */
  encode(input: { name: string; dims: number[] }, outputs: string[], graphName: string): Uint8Array {
    return this.encodeModel({
      name: graphName,
      inputs: [{ name: input.name, dims: ['batch', ...input.dims] }],
      outputs: outputs.map((o) => ({ name: o, dims: ['batch', 'features'] })),
    });
  }

  /** Serialize with any inputs/outputs; string dims are symbolic (`batch_size`), numbers fixed. */
  encodeModel(spec: { name: string; inputs: IoSpec[]; outputs: IoSpec[]; opset?: number }): Uint8Array {
    const valueInfo = (v: IoSpec) =>
      onnx.ValueInfoProto.create({
        name: v.name,
        type: {
          tensorType: {
            elemType: ELEM_TYPES[v.type ?? 'float32'],
            shape: { dim: v.dims.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d })) },
          },
        },
      });
    const graph = onnx.GraphProto.create({
      name: spec.name,
      node: this.nodes,
      initializer: this.inits,
      input: spec.inputs.map(valueInfo),
      output: spec.outputs.map(valueInfo),
    });
    const model = onnx.ModelProto.create({
      irVersion: 7,
      producerName: 'reprobe',
      opsetImport: [{ domain: '', version: spec.opset ?? 13 }],
      graph,
    });
    return onnx.ModelProto.encode(model).finish();
  }
}

/** A one-node Gemm model, Y = A·B (+ C), either operand transposed, with symbolic shapes: one session serves every size. */
export function gemmModel(opt: { transA?: boolean; transB?: boolean; bias?: boolean; type?: 'float32' | 'float64' }): Uint8Array {
  const type = opt.type ?? 'float32';
  const g = new OnnxGraph();
  g.node('Gemm', ['A', 'B', ...(opt.bias ? ['C'] : [])], { transA: opt.transA ? 1 : 0, transB: opt.transB ? 1 : 0 }, 'Y');
  return g.encodeModel({
    name: 'gemm',
    inputs: [
      { name: 'A', dims: ['a0', 'a1'], type },
      { name: 'B', dims: ['b0', 'b1'], type },
      ...(opt.bias ? [{ name: 'C', dims: ['n'], type }] : []),
    ],
    outputs: [{ name: 'Y', dims: ['m', 'n'], type }],
  });
}

export interface IoSpec {
  name: string;
  dims: (number | string)[];
  type?: keyof typeof ELEM_TYPES;
}

const DataType = onnx.TensorProto.DataType;
const ELEM_TYPES = { float32: DataType.FLOAT, float64: DataType.DOUBLE, int64: DataType.INT64, int32: DataType.INT32, uint8: DataType.UINT8, int8: DataType.INT8 };

function attribute_(name: string, v: Attr) {
  const T = onnx.AttributeProto.AttributeType;
  if (typeof v === 'string') return onnx.AttributeProto.create({ name, type: T.STRING, s: new TextEncoder().encode(v) });
  if (Array.isArray(v)) return onnx.AttributeProto.create({ name, type: T.INTS, ints: v });
  if (typeof v === 'object') return onnx.AttributeProto.create({ name, type: T.FLOAT, f: v.f });
  return onnx.AttributeProto.create({ name, type: T.INT, i: v });
}
