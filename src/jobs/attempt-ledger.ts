import { hostname } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomic } from '../util/atomic.ts';

/**
 * The attempt ledger, `<results>/attempts/<job id>.<generation>.<token>.json`: one file per claim generation of a
 * sweep job, written whole by the process holding that claim (so no two processes ever write one file) when it
 * claims, again when it starts the job, and once more when it ends. A killed attempt keeps what it got to: an entry
 * with a start and no end. What the exactly-once tests count starts and completions from.
 */
const LEDGER_DIR = 'attempts';

/** What ended an attempt: the job ran and its records are in the store, it failed, or it was found done or failed elsewhere. */
type AttemptOutcome = 'done' | 'failed' | 'skipped';

interface Attempt {
  job_id: string;
  /** The claim generation: the record written by this attempt carries it as `attempt`. */
  attempt: number;
  host: string;
  pid: number;
  /** The claiming process's random token (a pid can be reused). */
  token: string;
  claimed: string;
  /** When the job itself began (after the done checks); null when the attempt never started it. */
  start: string | null;
  end: string | null;
  outcome: AttemptOutcome | null;
}

/** One attempt's entry: call `started` when the job runs, `ended` when it is over. */
export interface AttemptEntry {
  started(): Promise<void>;
  ended(outcome: AttemptOutcome): Promise<void>;
}

/** Open the ledger entry of a claim generation this process holds. */
export async function openAttempt(resultsDir: string, jobId: string, attempt: number, token: string): Promise<AttemptEntry> {
  const entry: Attempt = { job_id: jobId, attempt, host: hostname(), pid: process.pid, token, claimed: new Date().toISOString(), start: null, end: null, outcome: null };
  const path = join(resultsDir, LEDGER_DIR, `${jobId}.${attempt}.${token}.json`);
  const write = () => writeFileAtomic(path, JSON.stringify(entry) + '\n');
  await write();
  return {
    async started() {
      entry.start = new Date().toISOString();
      await write();
    },
    async ended(outcome) {
      entry.end = new Date().toISOString();
      entry.outcome = outcome;
      await write();
    },
  };
}
