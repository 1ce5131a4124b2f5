// Worker-thread body of features/preparer.ts: prepares batches on its own event loop, which the main thread's
// inference (onnxruntime-node runs a model synchronously on the calling thread) cannot block.
import { parentPort } from 'node:worker_threads';
import type { Card } from '../backbones/types.ts';
import { prepareBatch, type BatchItem } from './prepare-batch.ts';

export interface PrepareRequest {
  id: number;
  items: BatchItem[];
  card: Card;
}

parentPort!.on('message', async ({ id, items, card }: PrepareRequest) => {
  try {
    const batch = await prepareBatch(items, card);
    parentPort!.postMessage({ id, batch }, [batch.input.buffer as ArrayBuffer]);
  } catch (err) {
    parentPort!.postMessage({ id, error: String((err as Error)?.message ?? err) });
  }
});
