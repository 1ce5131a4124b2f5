import { readFile, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { ConfigError, DataError, firstLine, fsError } from '../errors.ts';
import { latestPerCell, problemLine, readStore, RECORDS_DIR } from '../results/job-store.ts';
import type { CellRecord, Presentation } from '../results/record.ts';
import { outsideDataset } from '../data/outside-dataset.ts';
import { writeFileAtomic } from '../util/atomic.ts';
import { renderVegaLite } from '../util/plot.ts';
import type { StandIns } from './against-cells.ts';
import { againstSection, type Against } from './against.ts';
import { tableCsv } from './csv.ts';
import { writeGalleries } from './galleries.ts';
import { reportHtml } from './html.ts';
import { reportMarkdown } from './markdown.ts';
import { parsePublished, STUDY_TABLES } from './published.ts';
import { readAssets } from './read-assets.ts';
import { newestConfigs } from './newest-config.ts';
import { buildReport, type Report } from './sections.ts';

export const REPORT_FORMATS = ['md', 'csv', 'html'] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];

/** `md,csv` → the formats, each once; an unknown one is one line naming the valid ones. */
export function parseFormats(list: string): ReportFormat[] {
  const asked = list.split(',').map((f) => f.trim().toLowerCase()).filter(Boolean);
  const bad = asked.filter((f) => !(REPORT_FORMATS as readonly string[]).includes(f));
  if (bad.length || !asked.length) throw new ConfigError(`--format ${list}: ${bad.length ? `unknown format "${bad[0]}"` : 'no format'}. Known: ${REPORT_FORMATS.join(', ')} (comma-separated, e.g. --format md,html).`);
  return [...new Set(asked)] as ReportFormat[];
}

/** Each figure's SVG keyed `<section id>/<index>`: specs rendered by vega, SVGs a run left as they are; a chart that fails is a note. */
async function renderFigures(report: Report): Promise<Map<string, string>> {
  const svgs = new Map<string, string>();
  for (const s of report.sections)
    for (const [i, f] of s.figures.entries()) {
      if (f.svg !== undefined) svgs.set(`${s.id}/${i}`, f.svg);
      else if (f.spec)
        try {
          svgs.set(`${s.id}/${i}`, (await renderVegaLite(f.spec)).svg);
        } catch (err) {
          s.notes.push(`${f.title}: the chart could not be drawn (${firstLine(err)}).`);
        }
    }
  return svgs;
}

export interface WrittenReport {
  /** The markdown report (every table), what the CLI prints. */
  markdown: string;
  /** The files written, in order. */
  paths: string[];
  /** What could not be shown (missing curve or plot files, charts that failed). */
  notes: string[];
}

/** `--against`: `study` (the study's tables, configs/published/study-001.csv) or a file in the same format, and the stand-ins. */
export interface AgainstOption {
  source: string;
  standIns: StandIns;
}

/** `study` or a published table file → its cells, named for the report. */
async function readAgainst(a: AgainstOption): Promise<Against> {
  const path = a.source === 'study' ? join(import.meta.dirname, '..', '..', 'configs', 'published', STUDY_TABLES) : a.source;
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw fsError(err, `Cannot read --against ${a.source}`, 'Pass `study` or a CSV in the format of configs/published/study-001.csv.');
  }
  return { name: a.source === 'study' ? 'study' : basename(path).replace(/\.csv$/i, ''), cells: parsePublished(text, path), standIns: a.standIns };
}

/** Galleries (with the html format: whether to make them, where the datasets' images are, how many), and how backbone names group. */
export interface ReportOptions {
  galleries?: boolean;
  dataRoot?: string;
  /** Images per gallery (every mistake first); 0: all. */
  galleryImages?: number;
  /** The card id of a backbone name (records written under an alias group with their model's). */
  backboneId?: (name: string) => string;
  /** A record's presentation (presentationOf in jobs/methods.ts: a registered method's as declared now, else the record's own). */
  presentationOf?: (r: CellRecord) => Presentation;
}

/**
 * Read the results store, build the report and write it into `out` (report.md, report.html, csv/<table>.csv, and with
 * html the galleries in gallery/), each file atomically.
 */
export async function writeReport(resultsDir: string, formats: readonly ReportFormat[], out: string, against?: AgainstOption, opt: ReportOptions = {}): Promise<WrittenReport> {
  if ((await stat(resultsDir).catch(() => undefined))?.isFile()) throw new ConfigError(`${resultsDir} is a file: name the results folder (the one holding records/), e.g. \`reprobe report results\`.`);
  const store = await readStore(resultsDir);
  // Records written before aliases were resolved (`dino` beside `dino-vits16`) are grouped under the card's id.
  const named = store.records.map((r) => ({ ...r, ...(opt.backboneId ? { backbone: opt.backboneId(r.backbone) } : {}), ...(opt.presentationOf ? { presentation: opt.presentationOf(r) } : {}) }));
  // One configuration per table cell, the newest; what is left out is named in the report, never dropped silently.
  const { records, notes: leftOut } = newestConfigs(latestPerCell(named));
  if (!records.length && store.problems.length) {
    const files = [...new Set(store.problems.map((p) => p.file))];
    throw new DataError(`No valid records in ${join(resultsDir, RECORDS_DIR)}: ${files.length} file${files.length > 1 ? 's' : ''} refused (${problemLine(store.problems[0])}${files.length > 1 ? ', …' : ''}). Rerun the jobs (a sweep reruns them) or remove the files.`);
  }
  if (!records.length) throw new ConfigError(`No results in ${join(resultsDir, RECORDS_DIR)}: run \`reprobe probe\` or another method's command first, or name the results folder (\`reprobe report DIR\`).`);
  outsideDataset(out, '--out', [...new Set(records.map((r) => r.dataset))]);
  const assets = await readAssets(records, resultsDir);
  const report = buildReport(records, assets, resultsDir);
  if (leftOut.length) report.sections.push({ id: 'left_out', title: 'Records left out', tables: [], figures: [], notes: leftOut });
  if (against) report.sections.push(againstSection(records, await readAgainst(against)));
  const galleries = formats.includes('html') && opt.galleries !== false ? await writeGalleries(records, assets, resultsDir, out, { dataRoot: opt.dataRoot, limit: opt.galleryImages }) : undefined;
  if (galleries) {
    for (const f of report.sections.flatMap((s) => s.figures)) if (f.cell && galleries.scatters.has(f.cell)) f.html = galleries.scatters.get(f.cell);
    if (galleries.links.length || galleries.notes.length) report.sections.push({ id: 'galleries', title: 'Galleries', tables: [], figures: [], notes: galleries.notes, links: galleries.links });
  }
  const svgs = formats.includes('html') ? await renderFigures(report) : new Map<string, string>();
  const markdown = reportMarkdown(report);
  const files: [string, string][] = [];
  if (formats.includes('md')) files.push([join(out, 'report.md'), markdown]);
  if (formats.includes('csv')) {
    const names = new Set<string>();
    for (const t of report.sections.flatMap((s) => s.tables)) {
      let name = t.name;
      for (let i = 2; names.has(name); i++) name = `${t.name}_${i}`; // two labels that sanitise alike
      names.add(name);
      files.push([join(out, 'csv', `${name}.csv`), tableCsv(t)]);
    }
  }
  if (formats.includes('html')) files.push([join(out, 'report.html'), reportHtml(report, svgs)]);
  for (const [path, text] of files)
    try {
      await writeFileAtomic(path, text);
    } catch (err) {
      throw fsError(err, `Cannot write the report in ${out}`, 'Pass --out with a writable folder.');
    }
  return { markdown, paths: [...(galleries?.paths ?? []), ...files.map(([p]) => p)], notes: [...store.problems.map(problemLine), ...report.sections.flatMap((s) => s.notes)] };
}
