import { createHash } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../util/atomic.ts';
import { TrainingError } from '../errors.ts';
import type { StopState } from './early-stopping.ts';

/** One epoch of training, as written to epochs.jsonl. */
export interface EpochLog {
  epoch: number;
  train_loss: number;
  val_loss: number;
  val_accuracy: number;
  best_epoch: number;
  seconds: number;
}

/** Everything a killed run needs to continue exactly: weights, best weights, optimizer state, early stopping, curve. */
export interface Checkpoint {
  /** What the run is (settings, split, model): a checkpoint of another run is never resumed. */
  config: string;
  epoch: number;
  done: boolean;
  stop: StopState;
  curve: EpochLog[];
  step: number;
  weights: Float32Array[];
  best: Float32Array[];
  slots: Float32Array[];
}

interface Meta extends Omit<Checkpoint, 'weights' | 'best' | 'slots'> {
  sha256: string;
  sizes: { weights: number[]; best: number[]; slots: number[] };
}

const GROUPS = ['weights', 'best', 'slots'] as const;

/** The hash covers the header (all but itself) and the tensors: any change to either is caught. */
const digest = (header: object, body: Uint8Array) => createHash('sha256').update(JSON.stringify(header)).update(body).digest('hex');
const FILE = 'checkpoint.bin';

/**
 * A run folder's checkpoint, one file written atomically: a 4-byte header length, the JSON header (everything but
 * the tensors, and a hash of header and tensors), padding to 4 bytes, then the float32 tensors.
 */
export class CheckpointFile {
  constructor(readonly dir: string) {}

  async save(c: Checkpoint): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    const arrays = GROUPS.flatMap((g) => c[g]);
    const body = Buffer.concat(arrays.map((a) => Buffer.from(a.buffer, a.byteOffset, a.byteLength)));
    const { weights, best, slots, ...rest } = c;
    const unsigned = { ...rest, sizes: { weights: weights.map((a) => a.length), best: best.map((a) => a.length), slots: slots.map((a) => a.length) } };
    const meta: Meta = { ...unsigned, sha256: digest(unsigned, body) };
    const json = Buffer.from(JSON.stringify(meta));
    const head = Buffer.alloc(4 + json.length + ((4 - (json.length % 4)) % 4));
    head.writeUInt32LE(json.length, 0);
    json.copy(head, 4);
    await writeFileAtomic(join(this.dir, FILE), Buffer.concat([head, body]));
  }

  /**
   * The saved checkpoint of this config; undefined when there is none or it is of another config. A file that does not
   * verify (cut short, altered: the writer is atomic, so a kill never leaves one) is a TrainingError naming the damage.
   */
  async load(config: string): Promise<Checkpoint | undefined> {
    const path = join(this.dir, FILE);
    const file = await readFile(path).catch(() => undefined);
    if (!file) return undefined;
    const damaged = (why: string) => new TrainingError(`damaged checkpoint: ${why}. Remove it and fine-tune again (from epoch 1).`, path);
    if (file.length < 4) throw damaged(`${file.length} bytes, less than its header`);
    const n = file.readUInt32LE(0);
    let meta: Meta;
    try {
      meta = JSON.parse(file.subarray(4, 4 + n).toString('utf8')) as Meta;
    } catch {
      throw damaged('its header is not JSON');
    }
    const body = file.subarray(4 + n + ((4 - (n % 4)) % 4));
    const { sha256, ...unsigned } = meta;
    const floatsNeeded = GROUPS.reduce((a, g) => a + (unsigned.sizes?.[g] ?? []).reduce((x, y) => x + y, 0), 0);
    if (floatsNeeded * 4 !== body.length) throw damaged(`${body.length} bytes of weights where its header lists ${floatsNeeded * 4}`);
    if (digest(unsigned, body) !== sha256) throw damaged('its content does not match its sha256');
    if (meta.config !== config) return undefined;
    const floats = new Float32Array(body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength));
    let off = 0;
    const take = (sizes: number[]) => sizes.map((k) => floats.slice(off, (off += k)));
    const { sizes, ...rest } = unsigned;
    return { ...rest, weights: take(sizes.weights), best: take(sizes.best), slots: take(sizes.slots) };
  }
}
