import { ConfigError, unknownName } from '../errors.ts';
import { knnProbe } from './knn-probe.ts';
import { logRegMlProbe } from './logreg-ml-probe.ts';
import { logRegProbe } from './logreg-probe.ts';
import type { Probe } from './types.ts';

export const PROBES: ReadonlyMap<string, Probe> = new Map([knnProbe, logRegProbe, logRegMlProbe].map((p) => [p.name, p]));

export function getProbe(name: string): Probe {
  const p = PROBES.get(name);
  if (!p) throw new ConfigError(unknownName('probe', name, [...PROBES.keys()]));
  return p;
}
