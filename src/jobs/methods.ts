import { ConfigError, unknownName } from '../errors.ts';
import { PROBES } from '../probes/registry.ts';
import { clusterMethod, kmeansMethod } from '../cluster/method.ts';
import { finetuneMethod } from '../finetune/method.ts';
import type { Method } from '../method/contract.ts';
import { presentationByDefault, type Presentation } from '../method/presentation.ts';
import { probeMethod } from '../probes/method.ts';
import type { CellRecord } from '../results/record.ts';
import { proMethod, zeroshotMethod } from '../zeroshot/method.ts';

/** Every method the cell runner can run, by name: each probe (knn, lr, lr-ml), finetune, cluster and its k-means baseline, CLIP zero-shot and the PRO head. */
export const METHODS: ReadonlyMap<string, Method> = new Map([...[...PROBES.values()].map(probeMethod), finetuneMethod, clusterMethod, kmeansMethod, zeroshotMethod, proMethod].map((m) => [m.name, m]));

export function getMethod(name: string): Method {
  const m = METHODS.get(name);
  if (!m) throw new ConfigError(unknownName('method', name, [...METHODS.keys()]));
  return m;
}

/**
 * A record's presentation: a registered method's as it is declared now (a column renamed or reordered later does not
 * split the records of one method between two columns), else the record's own; a method neither registered nor
 * written with one is shown under its name, in the family of the registered methods of its task.
 */
export function presentationOf(r: Pick<CellRecord, 'method' | 'task' | 'presentation'>): Presentation {
  const m = METHODS.get(r.method);
  if (m) return m.presentation;
  if (r.presentation) return r.presentation;
  const clustering = [...METHODS.values()].some((x) => x.task === r.task && x.presentation.family === 'clustering');
  return { ...presentationByDefault(r.method), ...(clustering ? { family: 'clustering' as const } : {}) };
}

/** Records as read from a store, each with its presentation (presentationOf: a registered method's as declared now). */
export const withPresentation = <R extends CellRecord>(records: readonly R[]): R[] => records.map((r) => ({ ...r, presentation: presentationOf(r) }));
