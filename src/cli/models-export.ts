import type { Argv } from 'yargs';
import { exportModel } from '../jobs/export-model.ts';

/** `models export`'s own flags (--images, --tolerance and --out are shared with verify and quantize). */
export function exportOptions<T>(y: Argv<T>) {
  return y
    .option('from', { type: 'string', describe: "export: a local save_pretrained checkpoint folder for a card instead of its hub checkpoint" })
    .option('python', { type: 'string', describe: 'export: the Python with torch, transformers and onnx [default: $REPROBE_PYTHON, .venv-ref, python3]' });
}

interface ExportArgs {
  from?: string;
  python?: string;
  out?: string;
  images?: string;
  tolerance: number;
}

/** Exports, checks against transformers, and says where the model landed and how to use it. */
export async function modelsExport(name: string, a: ExportArgs): Promise<void> {
  const r = await exportModel({ name, from: a.from, out: a.out, images: a.images, tolerance: a.tolerance, python: a.python }, (line) => process.stderr.write(`${line}\n`));
  const c = r.check.images!;
  const use = r.cardFile ? `reprobe probe --backbone ${r.model} --card ${r.cardFile} --dataset ...` : `reprobe probe --backbone ${r.card} --dataset ...`;
  process.stdout.write(
    `${r.card}: ${r.model}\n` +
      `checked against transformers on ${c.cosines.length} images: cosine worst ${c.cosines[c.worst].toFixed(6)}, mean ${c.mean.toFixed(6)} (tolerance ${r.check.tolerance})\n` +
      `use it: ${use}\n`,
  );
}
