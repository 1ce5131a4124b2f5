import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CARDS } from '../backbones/cards/index.ts';
import { reprobeCachePath } from '../backbones/hub.ts';
import { kerasBlockEnds, kerasLayers } from '../backbones/keras-backbone.ts';
import { onnxBlocks } from '../runtime/onnx-blocks.ts';
import { QUANTIZE_DEFAULTS, QUANTIZE_MIN_COSINE } from '../runtime/quantize.ts';
import { cardHubFiles, fetchModel, isCached, resolveCard } from '../backbones/registry.ts';
import { featureName, isKerasCard, type OnnxCard } from '../backbones/types.ts';
import { ConfigError, ReprobeError } from '../errors.ts';
import { DEVICES, JOB_DEFAULTS, RUNTIMES } from '../jobs/job-schema.ts';
import { quantizeModel } from '../jobs/quantize-model.ts';
import { VERIFY_DEFAULTS, verifyModel, type RowComparison, type VerifyResult } from '../jobs/verify-model.ts';
import { formatTable } from '../report/table.ts';
import type { Argv } from 'yargs';
import { exportOptions, modelsExport } from './models-export.ts';
import type { Command } from './command.ts';
import { progressBar } from './progress.ts';

function modelsList(): void {
  const rows = CARDS.map((c) => [
    [c.id, ...(c.aliases ?? [])].join(', '),
    c.params,
    c.featureDim ?? '?',
    isKerasCard(c) ? `${c.pooling} @ ${c.tap}` : `${c.output.pooling} @ ${c.output.name}`,
    `${c.input.height}x${c.input.width}`,
    c.source.kind === 'nsfwjs' ? 'embedded' : isCached(c) ? 'yes' : 'no',
    c.summary,
  ]);
  process.stdout.write(formatTable(['name', 'params', 'dim', 'pooling', 'input', 'cached', 'about'], rows) + '\n');
}

function modelsInfo(name: string): void {
  const card = resolveCard(name);
  const files = cardHubFiles(card).map(reprobeCachePath);
  process.stdout.write(JSON.stringify({ ...card, feature: featureName(card), cached: isCached(card), ...(files.length ? { cachePaths: files } : {}) }, null, 2) + '\n');
}

/** An ONNX card's fine-tuning blocks, read from its graph (the model must be on this machine). */
async function onnxLayers(card: OnnxCard): Promise<void> {
  if (!card.blocks) throw new ConfigError(`${card.id} is an ONNX model whose card lists no blocks: its features come from output "${card.output.name}" (${card.output.pooling} pooling), and it fine-tunes with --train head or all.`);
  if (!isCached(card)) throw new ConfigError(`${card.id}'s blocks are read from its ONNX graph, which is not on this machine: \`reprobe models pull ${card.id}\` first.`);
  const blocks = onnxBlocks(new Uint8Array(await readFile((await fetchModel(card)).image)), card.blocks, card.output.name);
  const rows = blocks.map((b, i) => [`${i + 1}`, b.end, b.params, i === blocks.length - 1 ? `block ${i + 1} of ${blocks.length}` : `block ${i + 1} of ${blocks.length}; --train last:${blocks.length - i - 1} trains what follows`]);
  process.stdout.write(formatTable(['block', 'ends at tensor', 'params', 'fine-tuning'], rows) + '\n');
}

async function modelsLayers(name: string): Promise<void> {
  const card = resolveCard(name);
  if (!isKerasCard(card)) return onnxLayers(card);
  const blocks = kerasBlockEnds(card);
  const rows = kerasLayers(card).map((l) => {
    const b = blocks.indexOf(l.name);
    const block = b < 0 ? '' : b === blocks.length - 1 ? `block ${b + 1} of ${blocks.length}` : `block ${b + 1} of ${blocks.length}; --train last:${blocks.length - b - 1} trains what follows`;
    return [l.name, l.type, l.name === card.tap ? '<- tap' : card.altTaps.includes(l.name) ? 'swept' : '', block];
  });
  process.stdout.write(formatTable(['layer', 'type', 'features', 'fine-tuning (ends of blocks)'], rows) + '\n');
}

async function modelsPull(name: string): Promise<void> {
  const card = resolveCard(name);
  if (isKerasCard(card)) {
    process.stderr.write(`${card.id} is embedded in an npm package; nothing to download.\n`);
    return;
  }
  const bars = new Map<string, ReturnType<typeof progressBar>>();
  const paths = await fetchModel(card, (file, bytes, total) => {
    let bar = bars.get(file);
    if (!bar) bars.set(file, (bar = progressBar(`pull ${file}`, { unit: 'MB', scale: 1e-6 })));
    bar.update(bytes, total ?? bytes);
  });
  for (const b of bars.values()) b.stop();
  process.stdout.write(Object.values(paths).map((p) => `${card.id}: ${p}\n`).join(''));
}

/** `models verify`'s flags (the other actions ignore them). */
function verifyOptions<T>(y: Argv<T>) {
  return y
    .option('images', { type: 'string', describe: 'verify: folder of images, searched recursively; rows in sorted relative-path order unless --ids (export: the images its check runs on [default: 8 MNIST digits])' })
    .option('reference', { type: 'string', describe: 'verify: reference features, float32 [n, d] .npy (tools/torch_reference.py, or reprobe extract -o)' })
    .option('ids', { type: 'string', describe: "verify: the rows' order: JSON array of paths relative to --images (or the .json reprobe extract -o writes)" })
    .option('tolerance', { type: 'number', default: VERIFY_DEFAULTS.tolerance, describe: 'verify, export: lowest cosine allowed per image (and per text); below it the exit code is 1 (export writes nothing)' })
    .option('card', { type: 'string', describe: 'verify: card JSON for a NAME given as a model.onnx path' })
    .option('texts', { type: 'string', describe: 'verify, text towers: one text per line' })
    .option('text-reference', { type: 'string', describe: 'verify: reference text embeddings, float32 [texts, d] .npy' })
    .option('token-reference', { type: 'string', describe: 'verify: reference token ids, a JSON array of arrays or one array per line (padding after the end token ignored)' })
    .option('tokenizer', { type: 'string', describe: "verify: folder with vocab.json and merges.txt [default: the card's]" })
    .option('layer', { type: 'string', describe: "verify: feature layer instead of the card's tap (Keras backbones)" })
    .option('runtime', { choices: RUNTIMES, default: JOB_DEFAULTS.runtime, describe: 'verify: auto = onnxruntime, tfjs as fallback for the embedded Keras models' })
    .option('batch-size', { type: 'number', default: JOB_DEFAULTS.batchSize, describe: 'verify: images per inference batch' })
    .option('threads', { type: 'number', describe: 'verify: onnxruntime intra-op threads [default: all cores]' })
    .option('device', { choices: DEVICES, default: JOB_DEFAULTS.device, describe: 'verify: onnxruntime execution provider' });
}

type VerifyArgs = Awaited<ReturnType<typeof verifyOptions>['argv']>;

/** Runs the model on the images (and texts) and prints how close it comes to the references; exit 1 below the tolerance. */
async function modelsVerify(name: string, a: VerifyArgs): Promise<void> {
  if (!Number.isInteger(a['batch-size']) || a['batch-size'] < 1) throw new ConfigError(`--batch-size ${a['batch-size']}: give a whole number ≥ 1.`);
  let bar: ReturnType<typeof progressBar> | undefined;
  const r = await verifyModel(
    {
      backbone: name,
      card: a.card,
      images: a.images,
      reference: a.reference,
      ids: a.ids,
      texts: a.texts,
      textReference: a['text-reference'],
      tokenReference: a['token-reference'],
      tokenizer: a.tokenizer,
      tolerance: a.tolerance,
      batchSize: a['batch-size'],
      open: { runtime: a.runtime, layer: a.layer, threads: a.threads, device: a.device },
    },
    {
      onDownload: (file, bytes, total) => {
        bar ??= progressBar(`download ${file}`, { unit: 'MB', scale: 1e-6 });
        bar.update(bytes, total ?? bytes);
      },
      onStart: () => {
        bar?.stop();
        bar = progressBar(`verify ${name}`);
      },
      onProgress: (done, total) => bar?.update(done, total),
    },
  );
  bar?.stop();
  process.stdout.write(verifyReport(r, a) + '\n');
  if (!r.pass) process.exitCode = 1;
}

/** The verify result as a header, one table row per check, and the first token mismatch. */
function verifyReport(r: VerifyResult, a: VerifyArgs): string {
  const cos = (x: number) => (Number.isNaN(x) ? 'nan' : x.toFixed(7));
  const gap = (x: number) => (Number.isNaN(x) ? 'nan' : (1 - x).toExponential(1));
  const below = (c: RowComparison) => c.cosines.filter((x) => !(x >= r.tolerance)).length;
  const verdict = (pass: boolean, bad: number, of: number) => (pass ? 'pass' : `FAIL (${bad} of ${of} below)`);
  const rows: (string | number)[][] = [];
  const lines: string[] = [];
  const notes: string[] = [];
  const im = r.images;
  if (!im) lines.push(`${r.backbone}: text tower`);
  if (im) {
    lines.push(`${r.backbone} @ ${im.tap} on ${im.runtime}`, ...im.warnings.map((w) => `warning: ${w}`));
    rows.push(['images', im.ids.length, im.dim, cos(im.cosines[im.worst]), gap(im.cosines[im.worst]), im.ids[im.worst], cos(im.mean), verdict(im.pass, below(im), im.ids.length)]);
  }
  const t = r.text;
  if (t?.tokens) {
    const m = t.tokens.mismatches;
    rows.push(['token ids', t.texts.length, '', '', '', m.length ? `line ${m[0].index + 1}` : '', '', t.tokens.pass ? 'pass (equal)' : `FAIL (${m.length} of ${t.texts.length} differ)`]);
    if (m.length) notes.push(`token ids of line ${m[0].index + 1} (${JSON.stringify(t.texts[m[0].index])}): reference ${JSON.stringify(m[0].expected)}, got ${JSON.stringify(m[0].got)}`);
  }
  if (t?.embeddings) {
    const e = t.embeddings;
    rows.push(['text embeddings', t.texts.length, e.dim, cos(e.cosines[e.worst]), gap(e.cosines[e.worst]), `line ${e.worst + 1}`, cos(e.mean), verdict(e.pass, below(e), t.texts.length)]);
  }
  const refs = [a.reference, a['token-reference'], a['text-reference']].filter(Boolean).join(', ');
  const table = formatTable(['check', 'n', 'dim', 'worst cosine', '1 - worst', 'worst at', 'mean cosine', `tolerance ${r.tolerance}`], rows);
  return [...lines, `against ${refs}:`, table, ...notes].join('\n');
}

/** `models quantize`'s flags (the other actions ignore them); defaults from QUANTIZE_DEFAULTS. */
function quantizeOptions<T>(y: Argv<T>) {
  return y
    .option('out', { type: 'string', describe: 'quantize: the int8 .onnx file to write; its card goes next to it (<file>.card.json) [default: $REPROBE_HOME/models/quantized/<name>-int8.onnx]; export: the folder for a checkpoint folder\'s model.onnx and card.json [default: $REPROBE_HOME/models/local/<folder>]' })
    .option('conv', { type: 'boolean', default: QUANTIZE_DEFAULTS.conv, describe: "quantize: Conv weights too (ConvInteger, uint8 weights); slower than float Conv on onnxruntime's CPU kernels (npm run bench:quantize)" })
    .option('per-channel', { type: 'boolean', default: QUANTIZE_DEFAULTS.perChannel, describe: 'quantize: one scale per output channel (--no-per-channel: one per weight)' })
    .option('reduce-range', { type: 'boolean', default: QUANTIZE_DEFAULTS.reduceRange, describe: 'quantize: 7-bit int8 weights, the same results on every CPU (--no-reduce-range: 8 bits, which AVX2 kernels without VNNI saturate)' })
    .option('weight-type', { choices: ['int8', 'uint8'] as const, default: QUANTIZE_DEFAULTS.weightType, describe: 'quantize: MatMul/Gemm weights int8 symmetric or uint8 asymmetric (slower here)' })
    .option('min-cosine', { type: 'number', default: QUANTIZE_MIN_COSINE, describe: "quantize: refuse to write a copy whose worst cosine to the float model's output, on 4 noise images, is below this" })
    .option('force', { type: 'boolean', default: false, describe: 'quantize: write the copy even below --min-cosine (the numbers are still printed)' });
}

type QuantizeArgs = Awaited<ReturnType<typeof quantizeOptions>['argv']> & { card?: string };

/** Writes a dynamically quantized int8 copy of a backbone and its card (the library's quantizeModel), and says what it did. */
async function modelsQuantize(name: string, a: QuantizeArgs): Promise<void> {
  const options = { conv: a.conv, perChannel: a['per-channel'], reduceRange: a['reduce-range'], weightType: a['weight-type'] };
  const r = await quantizeModel({ name, card: a.card, out: a.out, options, minCosine: a['min-cosine'], force: a.force });
  const s = r.summary;
  const kept = new Map<string, number>();
  for (const k of s.skipped) kept.set(`${k.op}\t${k.reason}`, (kept.get(`${k.op}\t${k.reason}`) ?? 0) + 1);
  const byOp = new Map<string, number>();
  for (const w of s.quantized) byOp.set(w.op, (byOp.get(w.op) ?? 0) + 1);
  const rows = [...byOp].map(([op, n]) => [op, n, '', ''] as (string | number)[]);
  for (const [k, n] of kept) rows.push([k.split('\t')[0], '', n, k.split('\t')[1]]);
  const mb = (b: number) => `${(b / 1e6).toFixed(1)} MB`;
  process.stdout.write(
    [
      `${r.card.id}: ${r.how}`,
      formatTable(['op', 'quantized', 'kept float', 'why kept'], rows),
      `weights ${mb(s.floatWeightBytes)} float32 -> ${mb(s.int8WeightBytes)}; file ${mb(r.floatBytes)} -> ${mb(r.int8Bytes)}${s.foldedBatchNorms ? `; ${s.foldedBatchNorms} BatchNormalization folded into their Conv` : ''}`,
      `checked on onnxruntime: ${r.check}`,
      `wrote ${r.out}`,
      `card  ${r.cardOut}`,
      `run it: reprobe probe --backbone ${r.out} --card ${r.cardOut} --dataset mnist`,
    ].join('\n') + '\n',
  );
}

export const modelsCommand: Command = {
  name: 'models',
  register: (y) =>
    y.command(
      'models <action> [name]',
      'list backbones (list), show a card (info NAME), download a hub model (pull NAME), list layers for --layer (layers NAME), compare features with reference ones (verify NAME), write an int8 copy (quantize NAME), export a transformers checkpoint to ONNX (export NAME|FOLDER)',
      (c) =>
        exportOptions(quantizeOptions(verifyOptions(c)))
          .positional('action', { choices: ['list', 'info', 'pull', 'layers', 'verify', 'quantize', 'export'] as const, demandOption: true })
          .positional('name', { type: 'string' })
          .epilog(
            'Hub models are cached in $REPROBE_HOME/models (default ~/.cache/reprobe); an existing Hugging Face cache (HF_HUB_CACHE, HF_HOME) is reused. ' +
              'HF_ENDPOINT picks the hub, HF_TOKEN authenticates, HF_HUB_OFFLINE=1 never touches the network.',
          )
          .example('$0 models list', 'name, parameters, feature size, pooling, input size and whether it is cached')
          .example('$0 models info dino', 'the full card of dino-vits16 as JSON, with its cache path')
          .example('$0 models pull clip-vit-b32', 'download the ONNX files (resumable, checksummed) for offline runs')
          .example('$0 models layers mobilenet-v2', 'layer names for --layer; the tap and the swept layers are marked')
          .example('$0 models layers dino', "an ONNX card's fine-tuning blocks (--train last:N), read from its downloaded graph")
          .example('$0 models verify my.onnx --card card.json --images imgs --reference ref.npy', 'cosine per image against reference features (tools/torch_reference.py); exit 1 below --tolerance')
          .example('$0 models quantize vit-b32', 'a dynamically quantized int8 copy (MatMul/Gemm weights) and its card, for --backbone FILE --card CARD')
          .example('$0 models export ./my-vit-checkpoint', 'ONNX export of a save_pretrained folder with Python (torch, transformers, onnx), checked against transformers, with its card'),
      async (a) => {
        if (a.action === 'list') return modelsList();
        if (!a.name) throw new ReprobeError(`\`reprobe models ${a.action}\` needs a backbone name, e.g. \`reprobe models ${a.action} mobilenet-v2\`.`);
        if (a.action === 'pull') return modelsPull(a.name);
        if (a.action === 'verify') return modelsVerify(a.name, a);
        if (a.action === 'quantize') return modelsQuantize(a.name, a);
        if (a.action === 'export') return modelsExport(a.name, a);
        return a.action === 'info' ? modelsInfo(a.name) : modelsLayers(a.name);
      },
    ),
};
