import { ConfigError, printable } from '../errors.ts';
import { join } from 'node:path';
import type { Argv } from 'yargs';
import { GALLERY_IMAGES } from '../report/galleries.ts';
import { findCard } from '../backbones/cards/index.ts';
import { presentationOf } from '../jobs/methods.ts';
import { parseFormats, REPORT_FORMATS, writeReport } from '../report/write-report.ts';
import type { Command } from './command.ts';

function reportOptions(y: Argv) {
  return y
    .positional('results', { type: 'string', default: 'results', describe: 'the results folder (--results-dir of the runs); its records/ are read' })
    .option('format', { type: 'string', default: REPORT_FORMATS.join(','), describe: `what to write, comma-separated: ${REPORT_FORMATS.join(', ')}` })
    .option('out', { type: 'string', describe: 'folder the report is written to [default: <RESULTS>/report]' })
    .option('against', { type: 'string', describe: "compare with published tables: `study` (the study's, configs/published/study-001.csv) or a CSV in that format" })
    .option('galleries', { type: 'boolean', default: true, describe: 'with html: a gallery page per classification cell and thumbnails on the UMAP scatters (--no-galleries: none)' })
    .option('gallery-images', { type: 'number', default: GALLERY_IMAGES, describe: 'images per gallery: every mistake first, then right ones, up to this many (0: all)' })
    .option('data-root', { type: 'string', describe: "where the datasets' images are, for the galleries [default: $REPROBE_DATA, else $REPROBE_HOME/data]" })
    .option('stand-in', { type: 'string', describe: "PAPER=OURS[,PAPER=OURS…]: our records of OURS (a backbone or dataset id) stand in for the paper's PAPER, labelled as such" })
    .epilog(
      "The study's tables from every record in RESULTS/records (the newest of each cell): per dataset the backbones × `ft_<shots>` / " +
        '`knn_<shots>` / `lr_<shots>` table with "performance order" and "Best performance" (WILDS: ID and OOD columns, "Best OOD performance", ' +
        'and ID − OOD per method), and the clustering ranking by ARI; seeds run more than once are shown as mean ± sample std with n. ' +
        'report.md holds the tables, csv/ one file per table (pandas reads them as they are), report.html one self-contained page with ' +
        'sortable tables and the charts (metric vs shots, OOD vs ID, each UMAP scatter, fine-tuning curves). It only reads the results. ' +
        'Per column of each table, the backbones are ranked on the same test images from their stored predictions: the rank interval ' +
        "(paired bootstrap, 1000 resamples, seed 0) and whether each differs from the next (McNemar's exact test, Holm over the column's adjacent pairs); " +
        'a cell without predictions is named in a note. With html, gallery/ holds per classification cell a page of its test images (thumbnails made ' +
        'once, named by their content) with true and predicted class, filterable to the mistakes or one confused pair, and the confusion matrix as a ' +
        'heatmap; the UMAP scatters show each point\'s image and label on hover. The folder can be copied whole (relative links). ' +
        "--against study adds our numbers beside the study's published ones (coverage, differences flagged outside our spread, rankings, the paper's anomalies).",
    )
    .example('$0 report', 'results/report/report.md, report.html and csv/ from results/records')
    .example('$0 report /tmp/runs --format html --out /tmp/runs-report', 'only the HTML page, written to /tmp/runs-report')
    .example('$0 report --data-root /data', 'with galleries of the test images, read from the datasets under /data')
    .example('$0 report --against study', "our numbers beside the study's, with coverage, rankings and the paper's anomalies");
}

/** `--stand-in clip-vit-b32=mobilenet-v2,ucmerced=mnist` → paper id → ours. */
function parseStandIns(v: unknown): Map<string, string> {
  const list = typeof v === 'string' ? v.split(',').map((s) => s.trim()).filter(Boolean) : [];
  return new Map(
    list.map((s) => {
      const m = /^([^=\s]+)=([^=\s]+)$/.exec(s);
      if (!m) throw new ConfigError(`--stand-in ${s}: expected PAPER=OURS, e.g. --stand-in clip-vit-b32=mobilenet-v2 or --stand-in ucmerced=mnist.`);
      return [m[1], m[2]];
    }),
  );
}

async function report(argv: Record<string, unknown>): Promise<void> {
  const results = String(argv.results);
  const formats = parseFormats(String(argv.format));
  const out = typeof argv.out === 'string' ? argv.out : join(results, 'report');
  const against = typeof argv.against === 'string' ? { source: argv.against, standIns: parseStandIns(argv['stand-in']) } : undefined;
  const galleryImages = Number(argv['gallery-images']);
  if (!Number.isInteger(galleryImages) || galleryImages < 0) throw new ConfigError(`--gallery-images ${String(argv['gallery-images'])}: a whole number of 0 or more (0: every image), e.g. --gallery-images 500.`);
  const { markdown, paths, notes } = await writeReport(results, formats, out, against, { backboneId: (name) => findCard(name)?.id ?? name, presentationOf, galleries: argv.galleries !== false, galleryImages, ...(typeof argv['data-root'] === 'string' ? { dataRoot: argv['data-root'] } : {}) });
  for (const n of notes) process.stderr.write(`reprobe: note: ${printable(n)}\n`);
  process.stdout.write(`${markdown}\nwritten:\n${paths.map((p) => `  ${p}`).join('\n')}\n`);
}

export const reportCommand: Command = {
  name: 'report',
  register: (y) => y.command('report [results]', "the study's tables and charts from a results folder, as markdown, csv and one HTML page", reportOptions, report),
};
