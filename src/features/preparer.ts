import { Worker } from 'node:worker_threads';
import type { Card } from '../backbones/types.ts';
import { loadSharp } from '../util/sharp.ts';
import { prepareBatch, type BatchItem, type PreparedBatch } from './prepare-batch.ts';
import type { PrepareRequest } from './prepare-worker.ts';

type Reply = { id: number; batch: PreparedBatch } | { id: number; error: string };

interface Pending {
  items: readonly BatchItem[];
  card: Card;
  resolve: (b: PreparedBatch) => void;
  reject: (e: Error) => void;
}

/**
 * Batch preparation (decode + resize + pack) on one worker thread. On the main thread it would stall for as long as
 * each inference call runs, because onnxruntime-node runs models synchronously there: measured on 2 cores, that left
 * the inference threads idle 10–15 % of the time with a light model. If the thread cannot start or dies, its batches
 * and all later ones are prepared on the main thread (slower, same result), with one warning.
 * REPROBE_PREPARE_THREAD=0 prepares on the main thread from the start.
 */
export class Preparer {
  private worker?: Worker;
  private broken = process.env.REPROBE_PREPARE_THREAD === '0';
  private next = 0;
  private pending = new Map<number, Pending>();

  prepare(items: readonly BatchItem[], card: Card): Promise<PreparedBatch> {
    if (this.broken) return prepareBatch(items, card);
    const worker = this.worker ?? this.start();
    const id = this.next++;
    // A raw source may be a view into a whole dataset's buffer; structured cloning would copy all of it.
    const own = items.map((s) => (s.source.kind === 'raw' ? { id: s.id, source: { ...s.source, data: s.source.data.slice() } } : { id: s.id, source: s.source }));
    return new Promise((resolve, reject) => {
      this.pending.set(id, { items, card, resolve, reject });
      if (this.pending.size === 1) worker.ref();
      worker.postMessage({ id, items: own, card } satisfies PrepareRequest);
    });
  }

  /** Stop the thread as a crash would (for tests of the fallback). */
  async kill(): Promise<void> {
    await this.worker?.terminate();
  }

  private start(): Worker {
    // Before the worker loads sharp (see loadSharp): the CLI's bundle loads it only on first use.
    loadSharp();
    // The worker loads TypeScript through tsx, as bin/reprobe.mjs does for the main thread.
    const tsx = import.meta.resolve('tsx/esm/api');
    const body = new URL('./prepare-worker.ts', import.meta.url).href;
    const worker = new Worker(`import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(body)}); });`, { eval: true });
    worker.unref();
    worker.on('message', (reply: Reply) => {
      const p = this.pending.get(reply.id);
      if (!p) return;
      this.pending.delete(reply.id);
      if (this.pending.size === 0) worker.unref();
      if ('error' in reply) p.reject(new Error(reply.error));
      else p.resolve(reply.batch);
    });
    const fail = (why: string) => {
      if (this.broken) return;
      this.broken = true;
      this.worker = undefined;
      process.emitWarning(`image preparation thread ${why}; preparing images on the main thread (slower)`);
      for (const p of this.pending.values()) prepareBatch(p.items, p.card).then(p.resolve, p.reject);
      this.pending.clear();
    };
    worker.on('error', (err) => fail(`failed: ${err.message}`));
    worker.on('exit', (code) => fail(`exited (code ${code})`));
    this.worker = worker;
    return worker;
  }
}

const preparer = new Preparer();

/** Prepare a batch off the main thread (see Preparer). */
export function prepareOffThread(items: readonly BatchItem[], card: Card): Promise<PreparedBatch> {
  return preparer.prepare(items, card);
}
