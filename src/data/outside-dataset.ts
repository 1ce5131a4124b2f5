import { datasetFolder } from './registry.ts';
import { checkOutputPath } from '../util/output-path.ts';

/** An output folder may not lie in the folder of a dataset it was made from: a later run would read its files as images. */
export function outsideDataset(out: string, flag: string, datasets: readonly (string | undefined)[]): void {
  const folders = [...new Set(datasets.flatMap((d) => (d ? [datasetFolder(d)] : [])))].flatMap((f) => (f ? [f] : []));
  checkOutputPath(out, flag, { folders: folders.map((path) => ({ path, what: 'a dataset\'s folder: what is written there would be read as its images' })) });
}
