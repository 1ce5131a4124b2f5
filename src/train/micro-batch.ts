/**
 * The memory a forward/backward pass may hold. The wasm backend's heap ends at 4 GiB and never shrinks; MobileNetV2
 * from the pixels measured 942 MiB of heap at 4 images per pass, 1.77 GiB at 8, 3.5 GiB at 16.
 */
const MICRO_BATCH_BUDGET = 2 ** 30;
/**
 * Heap per byte of layer outputs, measured: MobileNetV2 kept 78.7 MiB of outputs per image and grew the heap by about
 * 210 MiB per image; with batch norm and relu6 fused (56.8 MiB kept) the heap is 499 MiB at 4 images, 800 at 6.
 */
const HEAP_PER_ACTIVATION_BYTE = 3;

/**
 * Examples per forward/backward pass: the whole batch when its activations fit the budget, else as many as fit
 * (at least one). Unknown activation sizes take the whole batch.
 */
export function microBatchFor(activationBytes: number | undefined, batchSize: number, budget = MICRO_BATCH_BUDGET): number {
  if (!activationBytes) return batchSize;
  return Math.max(1, Math.min(batchSize, Math.floor(budget / (HEAP_PER_ACTIVATION_BYTE * activationBytes))));
}
