import { ProbeError } from '../errors.ts';
import { assertFinite } from '../method/finite-features.ts';
import type { ProbeInput } from './types.ts';

/** Reject inputs that would give a silently wrong number: non-finite features, < 2 classes, untrained test classes. */
export function validateProbeInput(input: ProbeInput, classNames?: readonly string[]): void {
  assertFinite(input.train, 'Training');
  assertFinite(input.val, 'Validation');
  assertFinite(input.test, 'Test');
  const trained = new Set(input.trainLabels);
  const name = (c: number) => (classNames ? `"${classNames[c]}"` : String(c));
  if (trained.size < 2) throw new ProbeError(`The training split holds ${trained.size} class; a probe needs at least 2.`);
  const missing = [...new Set([...input.valLabels, ...input.testLabels])].filter((c) => !trained.has(c));
  if (missing.length > 0) throw new ProbeError(`Class ${missing.map(name).join(', ')} appears in val/test but has no training images; every evaluated class needs training images.`);
  if (input.test.rows === 0) throw new ProbeError('The test split is empty; nothing to score.');
}
