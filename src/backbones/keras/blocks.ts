import { BackboneError } from '../../errors.ts';
import { inboundNames, type KerasModelFiles } from '../../runtime/keras/topology.ts';

/** A unit of fine-tuning: the layers after the previous block's end, up to and including `end`. */
export interface Block {
  /** Its last layer: where the graph narrows to one tensor (what a frozen prefix hands to the trained suffix). */
  end: string;
  layers: string[];
  params: number;
}

/**
 * The blocks of a Keras model up to `tap`: a block ends at each layer matching `pattern` that the whole graph passes
 * through (a cut point: no connection skips it), and the tap ends the last block when it falls inside one.
 */
export function kerasBlocks(files: KerasModelFiles, pattern: string, tap: string): Block[] {
  const layers = files.layers;
  const index = new Map(layers.map((l, i) => [l.name, i]));
  const last = index.get(tap);
  if (last === undefined) throw new BackboneError(`Layer "${tap}" is not in the model.`);
  if (last === 0) return []; // the input itself: nothing before it to train
  const re = new RegExp(pattern);
  // Layer i is a cut point when no later layer reads a layer before it.
  const cut = new Array<boolean>(layers.length).fill(false);
  let earliestRead = Infinity;
  for (let i = layers.length - 1; i >= 0; i--) {
    cut[i] = earliestRead >= i;
    for (const n of inboundNames(layers[i])) earliestRead = Math.min(earliestRead, index.get(n)!);
  }
  const ends = layers.slice(1, last).filter((l, i) => cut[i + 1] && re.test(l.name)).map((l) => index.get(l.name)!);
  if (!cut[last]) throw new BackboneError(`Layer "${tap}" is not a cut point of the model (a connection skips it); fine-tuning cuts there.`);
  ends.push(last);
  const paramsOf = new Map<string, number>();
  for (const w of files.weightSpecs) {
    const layer = w.name.split('/')[0];
    paramsOf.set(layer, (paramsOf.get(layer) ?? 0) + w.shape.reduce((a, b) => a * b, 1));
  }
  let start = 1; // after the input layer
  return ends.map((end) => {
    const names = layers.slice(start, end + 1).map((l) => l.name);
    start = end + 1;
    return { end: layers[end].name, layers: names, params: names.reduce((a, n) => a + (paramsOf.get(n) ?? 0), 0) };
  });
}
