import { statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseCardFile } from '../backbones/card-file.ts';
import { findCached, reprobeCachePath } from '../backbones/hub.ts';
import { convertedOnnx } from '../backbones/keras-backbone.ts';
import { loadNsfwjsModel } from '../backbones/keras/nsfwjs-files.ts';
import { quantizedCard } from '../backbones/quantized-card.ts';
import { cardHubFiles, isModelPath, openResolved, resolveBackbone, resolveCard } from '../backbones/registry.ts';
import { isKerasCard, type Card, type OnnxCard } from '../backbones/types.ts';
import { BackboneError, ConfigError } from '../errors.ts';
import { openOnnx } from '../runtime/ort.ts';
import { quantizeDynamic, type QuantizeOptions, type QuantizeSummary } from '../runtime/quantize.ts';
import { writeFileAtomic } from '../util/atomic.ts';
import { matrix } from '../util/matrix.ts';
import { checkOutputPath } from '../util/output-path.ts';
import { reprobeHome } from '../util/paths.ts';
import { seeded } from '../util/rng.ts';
import { compareRows } from './verify-model.ts';

/** `reprobe models quantize`: a backbone (or a model file with its card), where to write, how, and the bar to pass. */
export interface QuantizeJob {
  name: string;
  card?: string;
  out?: string;
  options: QuantizeOptions;
  minCosine: number;
  force: boolean;
}

export interface QuantizeResult {
  card: Card;
  /** What was done, in words (also the new card's summary). */
  how: string;
  summary: QuantizeSummary;
  floatBytes: number;
  int8Bytes: number;
  /** The float-vs-int8 check in words, with the bar it passed (or was forced past). */
  check: string;
  out: string;
  cardOut: string;
}

/** A backbone's float ONNX graph: an embedded model's conversion at its tap, a cached hub file, or a model file (with --card). */
async function floatOnnx(name: string, cardPath?: string): Promise<{ card: Card; bytes: Uint8Array }> {
  if (isModelPath(name)) {
    const r = await resolveBackbone(name, { card: cardPath });
    // Opened as probe opens it first: a file that is not ONNX, cut short, or without the card's output is one line.
    await (await openResolved(r, { runtime: 'onnx' })).dispose();
    return { card: r.card, bytes: new Uint8Array(await readFile(r.files!.image)) };
  }
  const card = resolveCard(name);
  if (isKerasCard(card)) return { card, bytes: await convertedOnnx(card, loadNsfwjsModel(card.source.model), [card.tap]) };
  const [image] = cardHubFiles(card);
  const path = image && findCached(image);
  if (!path) throw new BackboneError(`${card.id} is not cached here (${image ? reprobeCachePath(image) : 'no file'}): \`reprobe models pull ${card.id}\` fetches it (needs the network), then quantize again.`);
  return { card, bytes: new Uint8Array(await readFile(path)) };
}

/** A dynamically quantized int8 copy of a backbone and its card, written atomically after both models ran on onnxruntime. */
export async function quantizeModel(job: QuantizeJob): Promise<QuantizeResult> {
  const { card, bytes } = await floatOnnx(job.name, job.card);
  const out = resolve(job.out ?? join(reprobeHome(), 'models', 'quantized', `${card.id}-int8.onnx`));
  if (statSync(out, { throwIfNoEntry: false })?.isDirectory()) throw new ConfigError(`${out} is a folder; give the .onnx file to write (its card goes next to it).`, '--out');
  const cardOut = `${out.replace(/\.onnx$/i, '')}.card.json`;
  // The float model and the card it was read with are never written over.
  const inputs = [isModelPath(job.name) ? job.name : undefined, job.card];
  checkOutputPath(out, '--out', { inputs });
  checkOutputPath(cardOut, `--out's card`, { inputs });
  const opt = job.options;
  const { bytes: q, summary: s } = quantizeDynamic(bytes, opt);
  if (!s.quantized.length) {
    const kept = new Map<string, number>();
    for (const k of s.skipped) kept.set(`${k.op}: ${k.reason}`, (kept.get(`${k.op}: ${k.reason}`) ?? 0) + 1);
    const why = [...kept].map(([k, n]) => `${n} ${k}`).join('; ');
    throw new BackboneError(`${card.id}: nothing to quantize (no MatMul/Gemm with a constant 2-D weight${opt.conv ? ' and no Conv with constant 4-D weights' : '; --conv quantizes Conv weights'})${why ? `; kept float: ${why}` : ''}.`);
  }
  const how = `int8 dynamic quantization by reprobe models quantize (MatMul/Gemm ${opt.weightType}${opt.weightType === 'int8' && opt.reduceRange ? ' 7-bit' : ''}${opt.conv ? ', Conv uint8' : ''}, per ${opt.perChannel ? 'channel' : 'tensor'})`;
  const qCard = quantizedCard(card, { input: s.inputs[0], output: s.outputs[0] }, how);
  // Both models run before anything is written: a graph onnxruntime refuses, or a copy too far from the float model, never lands.
  const c = await compareOnNoise(bytes, q, parseCardFile(qCard, 'check.onnx'));
  const cosines = `cosine to the float model's "${c.output}" on ${c.images} noise images: worst ${c.worst.toFixed(4)}, mean ${c.mean.toFixed(4)}`;
  const low = !(c.worst >= job.minCosine);
  if (low && !job.force) throw new BackboneError(`${card.id}: the int8 copy's ${cosines}, below --min-cosine ${job.minCosine}; nothing written. Keep the defaults (per channel, 7-bit), or --force to write it anyway.`);
  const check = `${cosines} (${low ? `BELOW --min-cosine ${job.minCosine}, written because of --force` : `>= --min-cosine ${job.minCosine}`}; real images: reprobe models verify, npm run bench:quantize)`;
  await writeFileAtomic(out, q);
  await writeFileAtomic(cardOut, JSON.stringify(qCard, null, 2) + '\n');
  return { card, how, summary: s, floatBytes: bytes.length, int8Bytes: q.length, check, out, cardOut };
}

/** Float and int8 model on 4 seeded noise images in the card's layout, one at a time (some exports fix batch 1): their cosines (models verify's compareRows). */
async function compareOnNoise(float: Uint8Array, int8: Uint8Array, card: OnnxCard): Promise<{ output: string; images: number; worst: number; mean: number }> {
  const { height: h, width: w, layout } = card.input;
  const rng = seeded(0);
  const { scale, mean, std } = card.preprocess;
  const n = 4;
  const x = Float32Array.from({ length: n * 3 * h * w }, (_, i) => {
    const c = layout === 'NHWC' ? i % 3 : Math.floor(i / (h * w)) % 3;
    return (Math.floor(rng() * 256) * scale - mean[c]) / std[c];
  });
  const dims = layout === 'NHWC' ? [1, h, w, 3] : [1, 3, h, w];
  const size = 3 * h * w;
  const run = async (bytes: Uint8Array) => {
    const session = await openOnnx(bytes, {});
    try {
      const rows: Float32Array[] = [];
      for (let r = 0; r < n; r++) rows.push((await session.run(x.subarray(r * size, (r + 1) * size), dims, [card.output.name]))[0].data);
      const d = rows[0].length;
      const m = matrix(n, d);
      rows.forEach((row, r) => m.data.set(row, r * d));
      return m;
    } finally {
      await session.dispose();
    }
  };
  const c = compareRows(await run(int8), await run(float));
  const worst = c.cosines[c.worst];
  if (!c.cosines.every(Number.isFinite)) throw new BackboneError(`${card.id}: the int8 model's output "${card.output.name}" is not finite on noise images; nothing written.`);
  return { output: card.output.name, images: n, worst, mean: c.mean };
}
