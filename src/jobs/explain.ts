import { statSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { sharp } from '../util/sharp.ts';
import { resolveBackbone, type ResolvedBackbone } from '../backbones/registry.ts';
import { loadDataset } from '../data/registry.ts';
import type { ImageSource } from '../data/types.ts';
import { ConfigError, DataError, firstLine, fsError, unknownName } from '../errors.ts';
import type { TrainedRun } from '../explain/keras-gradcam.ts';
import { EXPLAINERS, pickExplainer, type ExplainerName } from '../explain/explainers.ts';
import type { RolloutOptions } from '../explain/rollout.ts';
import { overlayPng } from '../explain/overlay.ts';
import { explainPage, type PageCell, type PageImage } from '../explain/page.ts';
import { decodeForCard, packBatch } from '../features/preprocess.ts';
import type { CellRecord } from '../results/record.ts';
import { problemLine, readStore, RECORDS_DIR } from '../results/job-store.ts';
import { seeded, shuffled } from '../util/rng.ts';
import { imagesFolder, outsideDataset } from '../data/outside-dataset.ts';
import { checkOutputPath } from '../util/output-path.ts';

/** Where `reprobe explain` writes its overlays and page by default, and how many dataset images it picks. */
export const EXPLAIN_DEFAULTS = { out: join('results', 'explain'), n: 16, seed: 0 } as const;

/** What `reprobe explain` does: backbones x images x targets (prompts or classes), one method per backbone. */
export interface ExplainJob {
  /** Backbone names; empty with --run (the run's backbone). */
  backbones: string[];
  /** Card JSON for a backbone given as a model.onnx path (as probe's --card). */
  card?: string;
  images: string[];
  texts: string[];
  classes: string[];
  method?: string;
  /** A `reprobe finetune` run folder, results/runs/<id>. */
  run?: string;
  layer?: string;
  /** relevance: the first attention block (negative from the end); rollout: head fusion and discard ratio. */
  startLayer?: number;
  headFusion?: RolloutOptions['headFusion'];
  discardRatio?: number;
  out: string;
  /** Pick `n` test images of this dataset, seeded. */
  dataset?: string;
  /** A results folder: pick images of the most confused pairs its records list. */
  from?: string;
  n: number;
  seed: number;
  dataRoot?: string;
  tokenizerDir?: string;
}

export interface ExplainEvents {
  onDownload?: (file: string, bytes: number, total: number | undefined) => void;
  onProgress?: (done: number, total: number, what: string) => void;
}

/** Every record of a results folder's store (records/), oldest first; a line that is not a valid record stops, named by file and line. */
async function folderRecords(dir: string): Promise<CellRecord[]> {
  const { records, problems } = await readStore(dir);
  if (problems.length) throw new ConfigError(`${problemLine(problems[0])}${problems.length > 1 ? ` (and ${problems.length - 1} more)` : ''}. Fix or move that file out of ${join(dir, RECORDS_DIR)}.`);
  return records;
}

/** The split file a record names (moved results folders: the one beside it). */
async function splitDoc(r: CellRecord, resultsDir: string): Promise<{ classes: string[]; tests: Record<string, string[]>; labels: Record<string, number> }> {
  for (const p of [r.split_file, join(resultsDir, 'splits', `${r.split_hash}.json`)]) {
    const text = await readFile(p, 'utf8').catch(() => undefined);
    if (text) return JSON.parse(text);
  }
  throw new ConfigError(`The split file of ${r.backbone} on ${r.dataset} (${r.split_file}) is gone; it holds the run's classes.`);
}

/** A run folder → what its finetune record says it trained (results/runs/<id> sits in the results folder that names it). */
async function readRun(dir: string): Promise<TrainedRun & { dataset: string; testIds: string[] }> {
  const abs = resolve(dir);
  if (!statSync(abs, { throwIfNoEntry: false })?.isDirectory()) throw new ConfigError(`--run ${dir} is not a folder; give a run folder of \`reprobe finetune\` (results/runs/<id>).`);
  const resultsDir = dirname(dirname(abs));
  const mine = (await folderRecords(resultsDir)).filter((r) => r.method === 'finetune' && typeof r.curve === 'string' && basename(dirname(r.curve)) === basename(abs));
  const r = mine.at(-1);
  if (!r) throw new ConfigError(`No finetune record in ${resultsDir} names the run ${basename(abs)}; --run takes a run folder inside the results folder that \`reprobe finetune\` wrote.`);
  if (!r.model.startsWith('nsfwjs:')) throw new ConfigError(`Run ${basename(abs)} fine-tuned ${r.backbone}, an ONNX model; gradcam explains runs of the Keras ConvNets (mobilenet-v2, inception-v3) so far.`);
  const cut = String(r.cut);
  const doc = await splitDoc(r, resultsDir);
  return { dir: abs, backbone: r.backbone, tap: r.layer, trainAfter: cut.endsWith(' (pooled features)') ? r.layer : cut, classes: doc.classes, dataset: r.dataset, testIds: Object.values(doc.tests).flat() };
}

interface Picked {
  title: string;
  source: ImageSource;
}

/** Test images of the most confused pairs a results folder lists (newest record first), up to n, alternating each pair's classes. */
async function confusedImages(from: string, job: ExplainJob): Promise<{ dataset: string; ids: string[] }> {
  const withPairs = (await folderRecords(from)).filter((r) => Array.isArray(r.confused_pairs) && r.confused_pairs.length && (!job.dataset || r.dataset === job.dataset));
  const r = withPairs.at(-1);
  if (!r) throw new ConfigError(`No record in ${from} lists confused pairs${job.dataset ? ` of ${job.dataset}` : ''}; run the probe or finetune with --top-pairs 10 first.`);
  const doc = await splitDoc(r, from);
  const tests = Object.values(doc.tests).flat();
  const ids: string[] = [];
  for (const p of r.confused_pairs as { a: string; b: string }[]) {
    const [a, b] = [p.a, p.b].map((c) => shuffled(tests.filter((id) => doc.classes[doc.labels[id]] === c), seeded(job.seed)));
    for (let i = 0; i < Math.max(a.length, b.length); i++) ids.push(...[a[i], b[i]].filter((x): x is string => x !== undefined && !ids.includes(x)));
  }
  return { dataset: r.dataset, ids: ids.slice(0, job.n) };
}

/** The images: files as given, then `n` seeded picks of a dataset (a run's test images when the run is of it) or of the most confused pairs. */
async function pickImages(job: ExplainJob, run?: Awaited<ReturnType<typeof readRun>>): Promise<{ picked: Picked[]; read: { dataset?: string; folder?: string } }> {
  const out: Picked[] = job.images.map((path) => {
    if (!statSync(path, { throwIfNoEntry: false })?.isFile()) throw new ConfigError(`--image ${path} is not a file.`);
    return { title: basename(path), source: { kind: 'file', path } };
  });
  if (!job.dataset && !job.from) return { picked: out, read: {} };
  const confused = job.from ? await confusedImages(job.from, job) : undefined;
  const name = confused?.dataset ?? job.dataset!;
  const ds = await loadDataset(name, job.dataRoot);
  const byId = new Map(ds.samples.map((s) => [s.id, s]));
  const pool = confused?.ids ?? shuffled(run?.dataset === name ? run.testIds : ds.samples.map((s) => s.id), seeded(job.seed)).slice(0, job.n);
  for (const id of pool) {
    const s = byId.get(id);
    if (s) out.push({ title: `${name}/${id} (${ds.classes[s.label]})`, source: s.source });
  }
  return { picked: out, read: { dataset: name, folder: imagesFolder(ds) } };
}

/**
 * The folders of `--image` files, as folders an output may not go into (it could be a dataset's class folder, read
 * again as images), but for the working folder and those above it: a picture beside the work is not a dataset's, and
 * the default --out (results/explain) lies below it.
 */
function imageFolders(images: readonly string[]): string[] {
  const cwd = process.cwd();
  return [...new Set(images.map((p) => dirname(resolve(p))))].filter((d) => relative(d, cwd).split(sep)[0] === '..');
}

/** A grid column: its label, and the prompt or class it explains. */
interface Target {
  label: string;
  text?: string;
  classIndex?: number;
}

/** `--class` value → index: a class name of the run (or its index), or an index of the model's own classifier. */
function classIndex(name: string, classes: string[] | undefined): number {
  const i = classes?.findIndex((c) => c.toLowerCase() === name.toLowerCase()) ?? -1;
  if (i >= 0) return i;
  if (/^\d+$/.test(name) && (!classes || Number(name) < classes.length)) return Number(name);
  if (classes) throw new ConfigError(unknownName('class', name, classes, 'These are the classes the run was fine-tuned on.'));
  throw new ConfigError(`--class ${name}: without --run, give the index of a class of the model's own classifier (0, 1, …).`);
}

function targetsOf(method: ExplainerName, job: ExplainJob, classes: string[] | undefined): Target[] {
  const byClass = () => job.classes.map((c) => ({ label: classes?.[classIndex(c, classes)] ?? `class ${c}`, classIndex: classIndex(c, classes) }));
  const kind = EXPLAINERS[method].targets;
  if (kind === 'none') return [{ label: 'attention' }];
  if (kind === 'text-or-class') {
    if (job.texts.length) return job.texts.map((t) => ({ label: t, text: t }));
    if (job.classes.length) return byClass();
    throw new ConfigError(`${method} explains a prompt or a class score: pass --text "a photo of a pond" (CLIP) or --class.`);
  }
  if (job.classes.length) return byClass();
  if (!job.run) throw new ConfigError(`${method} explains a class of a trained head: pass --run results/runs/<id> (a \`reprobe finetune\` run) or --class N of the model's own classifier; the backbone's own top class says little about your images.`);
  return [{ label: 'predicted class' }];
}

const slug = (s: string) => s.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 60) || 'x';
const softmax = (s: Float32Array, k: number) => Math.exp(s[k] - Math.max(...s)) / s.reduce((a, v) => a + Math.exp(v - Math.max(...s)), 0);

/**
 * `reprobe explain`: for each backbone, image and target, the method's map as an overlay PNG in `out`, and one page
 * (index.html, self-contained) with a table per image: backbones x targets. Returns the files written.
 */
export async function runExplain(job: ExplainJob, events: ExplainEvents = {}): Promise<{ overlays: string[]; page: string }> {
  const run = job.run ? await readRun(job.run) : undefined;
  const names = job.backbones.length ? job.backbones : run ? [run.backbone] : [];
  if (!names.length) throw new ConfigError('Name the backbones to explain with --backbone (or a fine-tuned run with --run).');
  const backbones: ResolvedBackbone[] = [];
  for (const n of names) backbones.push(await resolveBackbone(n, { card: job.card, onDownload: events.onDownload }));
  const methods = backbones.map((b) => pickExplainer(job.method, b, job.texts.length > 0));
  const targets = methods.map((m) => targetsOf(m, job, run?.classes));
  const { picked: images, read } = await pickImages(job, run);
  if (!images.length) throw new ConfigError('Give the images to explain: --image PATH…, or --dataset D --n 16.');
  // Every folder images are read from: the datasets named (-d, the run's, the one --from's records name) and the --image files'.
  outsideDataset(job.out, '--out', [run?.dataset, job.dataset, read.dataset], read.folder ? [read.folder] : []);
  checkOutputPath(job.out, '--out', { folders: imageFolders(job.images).map((path) => ({ path, what: 'the folder of an --image (a dataset\'s class folder, maybe): what is written there could be read as its images' })) });
  await mkdir(job.out, { recursive: true }).catch((err) => Promise.reject(fsError(err, `Cannot create ${job.out}`, 'Pass --out with a writable folder.')));
  const pages: PageImage[] = images.map((im) => ({ title: im.title, rows: [] }));
  // File names from the image names (extension dropped); two images of one name are told apart by their position.
  const stems = images.map((im) => slug(im.title.split(' ')[0].replace(/\.[A-Za-z0-9]+$/, '')));
  stems.forEach((s, i) => stems.indexOf(s) !== i && (stems[i] = `${s}-${i + 1}`));
  const overlays: string[] = [];
  const total = backbones.length * images.length;
  for (const [b, backbone] of backbones.entries()) {
    const method = methods[b];
    const explainer = await EXPLAINERS[method].open(backbone, { run, layer: job.layer, relevance: { startLayer: job.startLayer }, rollout: { headFusion: job.headFusion, discardRatio: job.discardRatio } });
    try {
      const { card } = backbone;
      for (const [i, im] of images.entries()) {
        // A file that is not an image (empty, cut, another format) is the user's: one line naming it.
        const rgb = await decodeForCard(im.source, card).catch((err: unknown) => {
          throw new DataError(`cannot be read as an image (${firstLine(err)}); give PNG, JPEG or WebP files.`, im.source.kind === 'file' ? im.source.path : im.title);
        });
        const pixels = packBatch([rgb], card);
        const image = { data: rgb, width: card.input.width, height: card.input.height };
        const cells = new Map<string, PageCell>();
        for (const t of targets[b]) {
          const e = await explainer.explain({ backbone, pixels, ...(t.text !== undefined ? { text: t.text } : {}), ...(t.classIndex !== undefined ? { classIndex: t.classIndex } : {}), ...(job.tokenizerDir ? { tokenizerDir: job.tokenizerDir } : {}) });
          const png = await overlayPng(image, e.map);
          const file = join(job.out, `${stems[i]}__${slug(backbone.name)}__${slug(t.label)}__${method}.png`);
          await writeFile(file, png);
          overlays.push(file);
          const explained = e.classIndex !== undefined ? `${run?.classes[e.classIndex] ?? `class ${e.classIndex}`}${e.scores ? ` (p ${softmax(e.scores, e.classIndex).toFixed(2)})` : ''}` : undefined;
          cells.set(t.label, { png, ...(explained ? { caption: explained } : {}) });
        }
        const input = await sharp(rgb, { raw: { width: image.width, height: image.height, channels: 3 } }).png().toBuffer();
        pages[i].rows.push({ backbone: backbone.name, method, input, cells, ...(run && method === 'gradcam' ? { note: `run ${basename(run.dir)}` } : {}) });
        events.onProgress?.(b * images.length + i + 1, total, `${backbone.name} ${method}`);
      }
    } finally {
      explainer.dispose();
    }
  }
  const page = join(job.out, 'index.html');
  const how = `reprobe explain: ${[...new Set(methods)].map((m) => `${m} — ${EXPLAINERS[m].summary}`).join('; ')}. Maps are normalised to [0, 1] per image and shown in jet colours over the image as each backbone saw it.`;
  await writeFile(page, explainPage(pages, how));
  return { overlays, page };
}
