import { readFileSync } from 'node:fs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

/**
 * reprobe's SIMD training kernels (kernels.wasm, built from kernels-source.ts), instantiated on the tfjs wasm
 * backend's own memory so that they read and write tensors in place: pointers are the tensors' heap offsets.
 */
export interface SimdKernels {
  depthwiseFilter(...args: number[]): void;
  depthwiseInput(...args: number[]): void;
  relu6Grad(x: number, dy: number, out: number, count: number): void;
  affineGrad(dy: number, x: number, a: number, dx: number, da: number, db: number, rows: number, channels: number): void;
  affine(x: number, a: number, b: number, out: number, rows: number, channels: number): void;
  affineRelu6(x: number, a: number, b: number, out: number, rows: number, channels: number): void;
  affineRelu6Grad(dy: number, x: number, a: number, b: number, dx: number, da: number, db: number, rows: number, channels: number): void;
}

const instances = new WeakMap<BackendWasm, SimdKernels | null>();

/** The kernels on this backend's heap, or null where this engine has no wasm SIMD (the JavaScript loops run instead). */
export function simdKernels(backend: BackendWasm): SimdKernels | null {
  let k = instances.get(backend);
  if (k === undefined) {
    const bytes = readFileSync(new URL('./kernels.wasm', import.meta.url));
    // The emscripten module keeps its exports (the heap's Memory among them) as `asm`.
    const memory = (backend.wasm as unknown as { asm?: { memory?: WebAssembly.Memory } }).asm?.memory;
    if (!memory || !WebAssembly.validate(bytes)) k = null;
    else {
      const e = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } }).exports as Record<string, (...a: number[]) => void>;
      k = { depthwiseFilter: e.depthwise_filter, depthwiseInput: e.depthwise_input, relu6Grad: e.relu6_grad, affineGrad: e.affine_grad, affine: e.affine, affineRelu6: e.affine_relu6, affineRelu6Grad: e.affine_relu6_grad };
    }
    instances.set(backend, k);
  }
  return k;
}
