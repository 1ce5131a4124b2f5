import { ConfigError, unknownName } from '../errors.ts';
import { PROBES } from '../probes/registry.ts';
import { clusterMethod, kmeansMethod } from '../cluster/method.ts';
import { finetuneMethod } from '../finetune/method.ts';
import type { Method } from '../method/contract.ts';
import { probeMethod } from '../probes/method.ts';
import { proMethod, zeroshotMethod } from '../zeroshot/method.ts';

/** Every method the cell runner can run, by name: each probe (knn, lr, lr-ml), finetune, cluster and its k-means baseline, CLIP zero-shot and the PRO head. */
export const METHODS: ReadonlyMap<string, Method> = new Map([...[...PROBES.values()].map(probeMethod), finetuneMethod, clusterMethod, kmeansMethod, zeroshotMethod, proMethod].map((m) => [m.name, m]));

export function getMethod(name: string): Method {
  const m = METHODS.get(name);
  if (!m) throw new ConfigError(unknownName('method', name, [...METHODS.keys()]));
  return m;
}
