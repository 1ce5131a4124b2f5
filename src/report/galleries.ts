import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { firstLine, fsError } from '../errors.ts';
import { loadDataset } from '../data/registry.ts';
import type { Sample } from '../data/types.ts';
import type { PredictionsDoc } from '../results/predictions.ts';
import type { CellRecord } from '../results/record.ts';
import { writeFileAtomic } from '../util/atomic.ts';
import { columnOfRecord, isClustering, variantCounts } from './columns.ts';
import { galleryHtml, type GalleryItem } from './gallery-page.ts';
import { hoverScatter } from './hover-scatter.ts';
import { load } from './read-assets.ts';
import { stem } from './report-table.ts';
import type { Assets } from './sections.ts';
import { groupBy } from './study.ts';
import { thumbnail } from './thumbnails.ts';

/** Galleries live in `<out>/gallery/`, their thumbnails in `<out>/gallery/thumbs/`; every link is relative. */
const GALLERY_DIR = 'gallery';
const THUMBS = 'thumbs';

export interface Galleries {
  /** One link per classification cell, relative to the report: `gallery/<name>.html`. */
  links: { title: string; href: string }[];
  /** Per clustering record (cell id) with coordinates, the scatter whose points show their thumbnail and label on hover. */
  scatters: Map<string, string>;
  paths: string[];
  notes: string[];
}

type Loaded = { value: PredictionsDoc } | { error: string };

/** Images per gallery by default: every mistake first, then right ones, up to this many (0: all); thumbnails cost a decode each. */
export const GALLERY_IMAGES = 1000;

/** The images a gallery shows, in test order: all when `limit` is 0 or not reached, else the mistakes first, then right ones. */
function shown(truth: readonly number[], pred: readonly number[], limit: number): number[] {
  const all = truth.map((_, i) => i);
  if (!limit || truth.length <= limit) return all;
  const wrong = all.filter((i) => truth[i] !== pred[i]);
  const right = all.filter((i) => truth[i] === pred[i]);
  return [...wrong, ...right].slice(0, limit).sort((a, b) => a - b);
}

/** The records' predictions as read, by record. */
function docOf(r: CellRecord, assets: Assets): PredictionsDoc | undefined {
  const l: Loaded | undefined = typeof r.predictions === 'string' ? assets.predictions.get(r.predictions) : undefined;
  return l && 'value' in l ? l.value : undefined;
}

/** `umap1,umap2,…,class` → the first two coordinates per row (the CSV the cluster runs write beside their plot). */
function parseCoordinates(text: string): [number, number][] {
  return text.split('\n').slice(1).filter((l) => l.trim()).map((l) => {
    const [x, y] = l.split(',', 2).map(Number);
    return [x, y];
  });
}

/**
 * Per classification cell with stored predictions, `gallery/<name>.html` (galleryHtml); per clustering record with
 * assignments and coordinates, a hover scatter for the report. Each dataset is opened once (from `dataRoot`) to find
 * its images; each image's thumbnail is made once (thumbnails.ts). What cannot be shown (no dataset here, no
 * predictions, an image that does not decode) is a note, not a failure of the report.
 */
export async function writeGalleries(records: readonly CellRecord[], assets: Assets, resultsDir: string, out: string, opt: { dataRoot?: string; limit?: number } = {}): Promise<Galleries> {
  const { dataRoot, limit = GALLERY_IMAGES } = opt;
  const g: Galleries = { links: [], scatters: new Map(), paths: [], notes: [] };
  const dir = join(out, GALLERY_DIR);
  const thumbs = join(dir, THUMBS);
  const withDocs = records.filter((r) => docOf(r, assets));
  const without = records.filter((r) => !isClustering(r) && !docOf(r, assets));
  if (without.length) g.notes.push(`No gallery for ${without.length} cell(s) without stored predictions (${without.slice(0, 3).map((r) => `${r.backbone} ${r.method}_${r.shots} on ${r.dataset}`).join(', ')}${without.length > 3 ? ', …' : ''}).`);
  const variants = variantCounts(records);
  for (const [dataset, rs] of groupBy(withDocs, (r) => r.dataset)) {
    let samples: Map<string, Sample>;
    try {
      samples = new Map((await loadDataset(dataset, dataRoot)).samples.map((s) => [s.id, s]));
    } catch (err) {
      g.notes.push(`No galleries for ${dataset}: its images could not be opened here (${firstLine(err)}); pass --data-root.`);
      continue;
    }
    const made = new Map<string, string | null>();
    const failed: string[] = [];
    const thumbOf = async (id: string): Promise<string | null> => {
      if (!made.has(id)) {
        const s = samples.get(id);
        let name: string | null = null;
        if (!s) failed.push(`${id} (not in the dataset)`);
        else
          try {
            name = await thumbnail(s.source, thumbs);
          } catch (err) {
            failed.push(`${id} (${firstLine(err)})`);
          }
        made.set(id, name);
      }
      return made.get(id)!;
    };
    for (const r of rs) {
      const doc = docOf(r, assets)!;
      if (doc.kind === 'clusters') {
        if (typeof r.coordinates !== 'string') continue;
        const coords = await load(r.coordinates, resultsDir, parseCoordinates);
        if ('error' in coords || coords.value.length !== doc.ids.length) {
          g.notes.push(`${r.backbone} on ${dataset} (${r.eval_split}): no hover scatter, ${'error' in coords ? coords.error : `${coords.value.length} coordinates for ${doc.ids.length} points`}.`);
          continue;
        }
        // A whole-dataset scatter can hold tens of thousands of points: at most `limit` of them, evenly spaced, carry a thumbnail.
        const step = limit && doc.ids.length > limit ? Math.ceil(doc.ids.length / limit) : 1;
        const points = [];
        for (const [i, id] of doc.ids.entries()) points.push({ xy: coords.value[i], label: doc.classes[doc.truth[i]] ?? String(doc.truth[i]), cls: doc.truth[i], id, thumb: i % step === 0 ? await thumbOf(id) : null });
        g.scatters.set(r.cell_id, hoverScatter(points, doc.classes, `${GALLERY_DIR}/${THUMBS}/`));
        continue;
      }
      const column = columnOfRecord(r, variants);
      const title = `${r.backbone} ${column} on ${dataset} (seed ${r.seed})`;
      const items: GalleryItem[] = [];
      // One image at a time: a test set of 10 000 images is 10 000 decodes, not 10 000 open files at once.
      for (const i of shown(doc.truth, doc.pred, limit)) {
        const t = await thumbOf(doc.ids[i]);
        items.push({ id: doc.ids[i], truth: doc.truth[i], pred: doc.pred[i], thumb: t ? `${THUMBS}/${t}` : null });
      }
      const name = `${stem(r.backbone, column, `seed${r.seed}`)}_${createHash('sha256').update(r.cell_id).digest('hex').slice(0, 8)}.html`;
      const path = join(dir, name);
      try {
        await writeFileAtomic(path, galleryHtml({ title, classes: doc.classes, truth: doc.truth, pred: doc.pred, items, back: '../report.html' }));
      } catch (err) {
        throw fsError(err, `Cannot write the galleries in ${dir}`, 'Pass --out with a writable folder.');
      }
      g.paths.push(path);
      g.links.push({ title, href: `${GALLERY_DIR}/${name}` });
    }
    if (failed.length) g.notes.push(`${dataset}: ${failed.length} image(s) without a thumbnail, e.g. ${failed[0]}.`);
  }
  return g;
}
