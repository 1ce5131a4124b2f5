import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { sharp } from '../util/sharp.ts';
import { processorPreprocess, type ProcessorConfig } from '../backbones/hf-processor.ts';
import { reprobeCachePath } from '../backbones/hub.ts';
import { resolveCard } from '../backbones/registry.ts';
import { isKerasCard, type HubSource, type OnnxCard, type Preprocess } from '../backbones/types.ts';
import { loadMnist } from '../data/mnist.ts';
import { BackboneError, ConfigError } from '../errors.ts';
import { readNpy } from '../util/npy.ts';
import { reprobeHome } from '../util/paths.ts';
import { verifyModel, VERIFY_DEFAULTS, type VerifyResult } from './verify-model.ts';

/**
 * `reprobe models export NAME|HF_FOLDER`: a transformers checkpoint (a study card's, from the hub or `--from` a local
 * folder, or any save_pretrained folder) exported to ONNX by tools/hf_export.py with the Python it finds, then checked
 * against transformers' own features on a few images (the `models verify` comparison) before it lands where `probe`
 * looks: a card's hub cache path, or `--out` (default $REPROBE_HOME/models/local/<folder>) with a card.json.
 */
const SCRIPT = join(import.meta.dirname, '..', '..', 'tools', 'hf_export.py');
const NEEDS = ['torch', 'transformers', 'onnx'] as const;

export interface ExportSpec {
  /** A registered ONNX card's name, or a save_pretrained folder. */
  name: string;
  /** For a card: a local checkpoint folder instead of the card's hub checkpoint. */
  from?: string;
  /** For a folder: where model.onnx and card.json go. */
  out?: string;
  /** Images for the check; default 8 MNIST digits from the mnist package. */
  images?: string;
  /** Images compared (default 8). */
  n?: number;
  tolerance?: number;
  /** The Python to run; default $REPROBE_PYTHON, the repo's .venv-ref, python3, python. */
  python?: string;
}

export interface ExportResult {
  card: string;
  /** Where the model landed. */
  model: string;
  /** The card file written next to it (folders), or undefined for a registered card. */
  cardFile?: string;
  check: VerifyResult;
  python: string;
}

interface Inspected {
  model_type: string;
  family: string;
  output: string;
  pooling: 'cls' | 'mean' | 'none';
  size: number;
  /** The feature size its config gives. */
  dim: number;
  patch: number | null;
  processor: ProcessorConfig | null;
  text: boolean;
  versions: { transformers: string; torch: string };
}

/** The modules a Python lacks of NEEDS, or undefined when it cannot run at all. */
function missingModules(python: string): string[] | undefined {
  const code = `import importlib.util;print(",".join(m for m in ${JSON.stringify(NEEDS)} if importlib.util.find_spec(m) is None))`;
  const r = spawnSync(python, ['-c', code], { encoding: 'utf8', timeout: 60_000 });
  if (r.error || r.status !== 0) return undefined;
  return r.stdout.trim() ? r.stdout.trim().split(',') : [];
}

/** The first Python with torch, transformers and onnx; one line naming what to install otherwise. */
export function findPython(explicit?: string): string {
  const repoVenv = join(import.meta.dirname, '..', '..', '.venv-ref', 'bin', 'python');
  const candidates = explicit ? [explicit] : [process.env.REPROBE_PYTHON, existsSync(repoVenv) ? repoVenv : undefined, 'python3', 'python'].filter((p): p is string => !!p);
  const tried: string[] = [];
  for (const py of candidates) {
    const missing = missingModules(py);
    if (missing?.length === 0) return py;
    tried.push(missing ? `${py} lacks ${missing.join(', ')}` : `${py} does not run`);
  }
  throw new ConfigError(`models export needs Python with ${NEEDS.join(', ')}: ${tried.join('; ')}. Install them (pip install torch transformers onnx, or tools/make-venv.sh) or point --python / REPROBE_PYTHON at a Python that has them.`);
}

/** The last stderr line of tools/hf_export.py that is not a warning, or its exit code. */
const lastError = (err: string, exit: string) => err.trim().split('\n').filter((l) => l.trim() && !/warn/i.test(l)).at(-1)?.replace(/^hf_export: /, '') ?? exit;

/** A line's JSON object, or undefined when it is none. */
function jsonObject(line: string): Record<string, unknown> | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    return JSON.parse(line) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/**
 * tools/hf_export.py inspect-export in one Python process (its imports of torch and transformers cost about 7 CPU s):
 * inspect() gives the checkpoint's inspection; then export() sends the export's arguments, or cancel() ends it.
 * Errors: the script's last stderr line, one line.
 */
function exportSession(python: string, source: string) {
  const child = spawn(python, [SCRIPT, 'inspect-export', source], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, PYTHONWARNINGS: 'ignore' } });
  let out = '';
  let err = '';
  child.stderr.on('data', (b: Buffer) => (err += b.toString()));
  // Python may die after its inspection, before export() writes to it (EPIPE): its exit says why.
  child.stdin.on('error', () => undefined);
  const closed = new Promise<string>((done, fail) => {
    child.on('error', (e) => fail(new ConfigError(`${source}: cannot run ${python} (${e.message}).`)));
    child.on('close', (code, signal) => done(signal ? `killed by ${signal}` : `exit code ${code}`));
  });
  // The inspection is the first whole line that is a JSON object (a package may print a line of its own first).
  const inspection = new Promise<Record<string, unknown> | undefined>((done) => {
    let seen = 0;
    child.stdout.on('data', (b: Buffer) => {
      out += b.toString();
      const lines = out.split('\n').slice(0, -1);
      for (; seen < lines.length; seen++) {
        const o = jsonObject(lines[seen]);
        if (o) return done(o);
      }
    });
    closed.then(() => done(undefined), () => done(undefined));
  });
  const failed = async (what: string) => new BackboneError(`${what} failed: ${lastError(err, await closed)}`);
  return {
    async inspect(): Promise<Inspected> {
      const info = await inspection;
      if (!info) throw await failed(`inspecting ${source}`);
      return info as unknown as Inspected;
    },
    async export(req: { out: string; images: string; n: number; preprocess: Preprocess }): Promise<{ file: string; images: number }> {
      child.stdin.end(`${JSON.stringify(req)}\n`);
      const exit = await closed;
      const result = jsonObject(out.trim().split('\n').at(-1) ?? '');
      if (exit !== 'exit code 0' || !result) throw await failed(`exporting ${source}`);
      return result as { file: string; images: number };
    },
    cancel(): void {
      child.stdin.end();
    },
  };
}

/** 8 MNIST digits as PNG files: real images that need no download. */
async function defaultImages(dir: string, n: number): Promise<string> {
  const ds = await loadMnist();
  await mkdir(dir, { recursive: true });
  for (const s of ds.samples.slice(0, n)) {
    if (s.source.kind !== 'raw') continue;
    const { data, width, height, channels } = s.source;
    await sharp(data, { raw: { width, height, channels } }).png().toFile(join(dir, `${s.id.replace(/[^\w.-]/g, '_')}.png`));
  }
  return dir;
}

/** A folder's transform: its processor's, or without a preprocessor_config.json ViTImageProcessor's defaults (stretch, bilinear, 0.5). */
function folderTransform(info: Inspected): { preprocess: Preprocess; size: number } {
  if (info.processor) return processorPreprocess(info.processor);
  return { preprocess: { resize: 'stretch', interpolation: 'bilinear', scale: 1 / 255, mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] }, size: info.size };
}

/** A card for a folder's export, from what tools/hf_export.py found in its config and processor. */
function folderCard(id: string, folder: string, info: Inspected, { preprocess, size }: { preprocess: Preprocess; size: number }, featureDim: number): Omit<OnnxCard, 'source'> {
  return {
    id,
    summary: `${info.model_type} exported from ${folder} by reprobe models export (transformers ${info.versions.transformers})`,
    weights: `the checkpoint in ${folder}`,
    params: '?',
    input: { name: 'pixel_values', height: size, width: size, channels: 3, layout: 'NCHW' },
    preprocess,
    output: info.pooling === 'mean' ? { name: info.output, pooling: 'mean', prefixTokens: 1 } : { name: info.output, pooling: info.pooling },
    featureDim,
    ...(info.patch ? { patch: info.patch } : {}),
  };
}

function isFolder(p: string): boolean {
  return statSync(p, { throwIfNoEntry: false })?.isDirectory() ?? false;
}

export async function exportModel(spec: ExportSpec, log: (line: string) => void = () => undefined): Promise<ExportResult> {
  const folderMode = isFolder(spec.name);
  const card = folderMode ? undefined : resolveCard(spec.name);
  if (card && (isKerasCard(card) || card.source.kind !== 'hub')) throw new ConfigError(`${spec.name} is not a hub ONNX card; models export makes the ONNX files of the study cards and of save_pretrained folders.`);
  if (spec.from && !isFolder(spec.from)) throw new ConfigError(`--from ${spec.from} is not a folder; give a save_pretrained checkpoint folder (config.json and the weights).`);
  if (folderMode && spec.from) throw new ConfigError('--from goes with a card name (models export dino-vits16 --from FOLDER); a folder is exported as it is.');
  if (card && spec.out) throw new ConfigError(`--out goes with a folder; ${card.id}'s export lands where probe looks for it (its hub cache path).`);
  const hub = card?.source.kind === 'hub' ? card.source : undefined;
  const source = folderMode ? resolve(spec.name) : (spec.from ? resolve(spec.from) : (hub?.checkpoint ?? hub!.repo));
  const python = findPython(spec.python);
  log(`exporting ${source} with ${python}`);
  const session = exportSession(python, source);
  try {
    return await exportWith(session, spec, card, hub, source, python);
  } finally {
    session.cancel();
  }
}

/** The export through an open session: its inspection checked against the card, then the export and its check. */
async function exportWith(session: ReturnType<typeof exportSession>, spec: ExportSpec, card: OnnxCard | undefined, hub: HubSource | undefined, source: string, python: string): Promise<ExportResult> {
  const folderMode = !card;
  const info = await session.inspect();
  if (card && !card.text !== !info.text) throw new ConfigError(`${source} is a ${info.model_type} checkpoint; ${card.id} needs ${card.text ? 'a CLIP checkpoint with a text tower' : 'an image model'}.`);
  if (card && card.featureDim !== undefined && info.dim !== card.featureDim) throw new ConfigError(`${source} is a ${info.model_type} checkpoint with ${info.dim}-d features; ${card.id}'s card says ${card.featureDim}-d. Is it ${card.id}'s checkpoint?`);
  if (card && info.size !== card.input.height) throw new ConfigError(`${source} takes ${info.size}-pixel images; ${card.id}'s card says ${card.input.height}. Is it ${card.id}'s checkpoint?`);
  // Files land in a temp folder beside their destination, and move there only after the check passes.
  const target = folderMode ? resolve(spec.out ?? join(reprobeHome(), 'models', 'local', basename(resolve(spec.name)))) : dirname(reprobeCachePath({ repo: hub!.repo, file: hub!.file, revision: hub!.revision }));
  const tmp = join(target, `.export-${randomBytes(4).toString('hex')}`);
  await mkdir(tmp, { recursive: true });
  try {
    const n = spec.n ?? 8;
    const images = spec.images ?? (await defaultImages(join(tmp, 'images'), n));
    // The transform the references are made with (in PIL, by tools/hf_export.py) is the card's.
    const transform = card ? undefined : folderTransform(info);
    const pre = card ? card.preprocess : transform!.preprocess;
    const want = hub ? basename(hub.file) : undefined;
    const exported = await session.export({ out: tmp, images, n, preprocess: pre });
    if (want && exported.file !== want) throw new BackboneError(`${source} exports as ${exported.file}; ${card!.id}'s card reads ${want}. Is it the right checkpoint?`);
    if (exported.images === 0) throw new ConfigError(`No images under ${images} to check the export on.`);
    const reference = JSON.parse(await readFile(join(tmp, 'reference.json'), 'utf8')) as { ids: string[] };
    const dim = readNpy(await readFile(join(tmp, 'reference.npy'))).shape[1];
    const cardDoc = card ? cardFileOf(card) : folderCard(basename(target), source, info, transform!, dim);
    await writeFile(join(tmp, 'card.json'), `${JSON.stringify(cardDoc, null, 2)}\n`);
    await writeFile(join(tmp, 'ids.json'), JSON.stringify(reference.ids));
    const model = join(tmp, exported.file);
    const check = await verifyModel({ backbone: model, card: join(tmp, 'card.json'), images, reference: join(tmp, 'reference.npy'), ids: join(tmp, 'ids.json'), tolerance: spec.tolerance ?? VERIFY_DEFAULTS.tolerance, batchSize: 8, open: { runtime: 'onnx' } });
    if (!check.pass) {
      const c = check.images!;
      throw new BackboneError(`The export of ${source} disagrees with transformers: worst cosine ${c.cosines[c.worst].toFixed(5)} (mean ${c.mean.toFixed(5)}) over ${c.cosines.length} images, below --tolerance ${check.tolerance}; nothing was written.`);
    }
    const files = [exported.file, ...(info.text ? ['text_model.onnx'] : []), ...(folderMode ? ['card.json'] : [])];
    for (const f of files) await rename(join(tmp, f), join(target, f));
    return { card: card?.id ?? String(cardDoc.id), model: join(target, exported.file), ...(folderMode ? { cardFile: join(target, 'card.json') } : {}), check, python };
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/** A registered card as a card file for the check (the file comes from the path; the text tower is checked by verify's text options). */
function cardFileOf(card: OnnxCard): Omit<OnnxCard, 'source' | 'text' | 'aliases'> {
  const { source: _source, text: _text, aliases: _aliases, ...rest } = card;
  return rest;
}
