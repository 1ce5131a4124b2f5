import { ConfigError } from '../errors.ts';
import { join } from 'node:path';
import type { Argv } from 'yargs';
import { findCard } from '../backbones/cards/index.ts';
import { parseFormats, REPORT_FORMATS, writeReport } from '../report/write-report.ts';
import type { Command } from './command.ts';

function reportOptions(y: Argv) {
  return y
    .positional('results', { type: 'string', default: 'results', describe: 'the results folder (--results-dir of the runs); its records/ are read' })
    .option('format', { type: 'string', default: REPORT_FORMATS.join(','), describe: `what to write, comma-separated: ${REPORT_FORMATS.join(', ')}` })
    .option('out', { type: 'string', describe: 'folder the report is written to [default: <RESULTS>/report]' })
    .option('against', { type: 'string', describe: "compare with published tables: `study` (the study's, configs/published/study-001.csv) or a CSV in that format" })
    .option('stand-in', { type: 'string', describe: "PAPER=OURS[,PAPER=OURS…]: our records of OURS (a backbone or dataset id) stand in for the paper's PAPER, labelled as such" })
    .epilog(
      "The study's tables from every record in RESULTS/records (the newest of each cell): per dataset the backbones × `ft_<shots>` / " +
        '`knn_<shots>` / `lr_<shots>` table with "performance order" and "Best performance" (WILDS: ID and OOD columns, "Best OOD performance", ' +
        'and ID − OOD per method), and the clustering ranking by ARI; seeds run more than once are shown as mean ± sample std with n. ' +
        'report.md holds the tables, csv/ one file per table (pandas reads them as they are), report.html one self-contained page with ' +
        'sortable tables and the charts (metric vs shots, OOD vs ID, each UMAP scatter, fine-tuning curves). It only reads the results. ' +
        "--against study adds our numbers beside the study's published ones (coverage, differences flagged outside our spread, rankings, the paper's anomalies).",
    )
    .example('$0 report', 'results/report/report.md, report.html and csv/ from results/records')
    .example('$0 report /tmp/runs --format html --out /tmp/runs-report', 'only the HTML page, written to /tmp/runs-report')
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
  const { markdown, paths, notes } = await writeReport(results, formats, out, against, { backboneId: (name) => findCard(name)?.id ?? name });
  for (const n of notes) process.stderr.write(`reprobe: note: ${n}\n`);
  process.stdout.write(`${markdown}\nwritten:\n${paths.map((p) => `  ${p}`).join('\n')}\n`);
}

export const reportCommand: Command = {
  name: 'report',
  register: (y) => y.command('report [results]', "the study's tables and charts from a results folder, as markdown, csv and one HTML page", reportOptions, report),
};
