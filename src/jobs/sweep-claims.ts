import { randomBytes } from 'node:crypto';
import { link, mkdir, open, readdir, readFile, rm, stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { writeFileAtomic } from '../util/atomic.ts';
import { processAlive } from '../util/process-alive.ts';

/**
 * Who is running a job: generations `<results>/claims/<job id>.<n>`. Each generation is written whole to a temp file
 * and linked into place (exclusive: of two processes only one creates generation n, and no claim is ever empty); the
 * highest generation owns the job. A process never renames or deletes another's claim: it takes a stale job over by
 * creating the next generation; releasing a claim marks it released rather than deleting it, so generations (the attempt
 * numbers of the ledger) never repeat. A claim is stale when it was released, when its process died on this host, when it names this host and
 * pid but another process (a restarted pod is PID 1 again; a pid reused), or when its heartbeat (mtime, touched every
 * 30 s while the job runs) is older than the lease (another host's process that was killed). The heartbeat runs in a
 * worker thread: onnxruntime or a long JavaScript loop holding the main thread for longer than the lease cannot stop it.
 */
const CLAIMS_DIR = 'claims';
const HEARTBEAT_MS = 30_000;
const LEASE_MS = 10 * 60_000;

interface Claim {
  host: string;
  pid: number;
  token: string;
  time: string;
  /** When its process let it go: the job is free, and the generation stays, so attempt numbers never repeat. */
  released?: string;
}

/** This process's identity in its claims. */
const TOKEN = randomBytes(8).toString('hex');

/** The generations of a job's claim, highest last. */
async function generations(resultsDir: string, id: string): Promise<number[]> {
  const files = await readdir(join(resultsDir, CLAIMS_DIR)).catch(() => [] as string[]);
  return files
    .filter((f) => f.startsWith(`${id}.`) && /^\d+$/.test(f.slice(id.length + 1)))
    .map((f) => Number(f.slice(id.length + 1)))
    .sort((a, b) => a - b);
}

async function readClaim(path: string): Promise<{ claim: Claim; mtimeMs: number } | undefined> {
  try {
    const [text, st] = await Promise.all([readFile(path, 'utf8'), stat(path)]);
    return { claim: JSON.parse(text) as Claim, mtimeMs: st.mtimeMs };
  } catch {
    return undefined;
  }
}

function stale(c: { claim: Claim; mtimeMs: number } | undefined): boolean {
  if (!c) return true;
  const { claim, mtimeMs } = c;
  if (claim.released) return true;
  if (claim.token === TOKEN) return false;
  if (claim.host === hostname() && (!processAlive(claim.pid) || claim.pid === process.pid)) return true;
  return Date.now() - mtimeMs > LEASE_MS;
}

/** The live claim on a job (a process running it), if any. */
export async function claimHeld(resultsDir: string, id: string): Promise<Claim | undefined> {
  const gens = await generations(resultsDir, id);
  if (gens.length === 0) return undefined;
  const c = await readClaim(join(resultsDir, CLAIMS_DIR, `${id}.${gens.at(-1)}`));
  return c && !stale(c) ? c.claim : undefined;
}

/** A claimed job: its heartbeat runs until release. */
export interface JobClaim {
  /** The claim's generation (1 for the first claim on the job): the attempt number. */
  generation: number;
  /** The claiming process's token. */
  token: string;
  release(): Promise<void>;
}

/** Take the job for this process, or undefined when a live process holds it. */
export async function claimJob(resultsDir: string, id: string, opt: { heartbeatMs?: number } = {}): Promise<JobClaim | undefined> {
  const dir = join(resultsDir, CLAIMS_DIR);
  await mkdir(dir, { recursive: true });
  for (let attempt = 0; attempt < 5; attempt++) {
    const gens = await generations(resultsDir, id);
    const top = gens.at(-1);
    if (top !== undefined && !stale(await readClaim(join(dir, `${id}.${top}`)))) return undefined;
    const next = (top ?? 0) + 1;
    const path = join(dir, `${id}.${next}`);
    // Its own temp file per attempt: two attempts of one process (same token) must not share one.
    const tmp = join(dir, `.${id}.${next}.${TOKEN}.${randomBytes(4).toString('hex')}.tmp`);
    const mine: Claim = { host: hostname(), pid: process.pid, token: TOKEN, time: new Date().toISOString() };
    const fh = await open(tmp, 'w');
    try {
      await fh.writeFile(JSON.stringify(mine));
      await fh.sync();
    } finally {
      await fh.close();
    }
    try {
      await link(tmp, path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      continue; // another process took this generation first: look again
    } finally {
      await rm(tmp, { force: true });
    }
    const beat = heartbeat(path, opt.heartbeatMs ?? HEARTBEAT_MS);
    return {
      generation: next,
      token: TOKEN,
      async release() {
        await beat.terminate();
        await writeFileAtomic(path, JSON.stringify({ ...mine, released: new Date().toISOString() } satisfies Claim));
      },
    };
  }
  return undefined;
}

/** The heartbeat's body: plain JavaScript (a worker does not go through the TypeScript loader), touching the claim's mtime. */
const HEARTBEAT_SOURCE = `
const { utimesSync } = require('node:fs');
const { workerData } = require('node:worker_threads');
setInterval(() => {
  const now = new Date();
  try { utimesSync(workerData.path, now, now); } catch {}
}, workerData.ms);
`;

/** Touch `path` every `ms` from a worker thread, so the lease holds while the main thread is busy; unref'd, so it never keeps a process alive. */
function heartbeat(path: string, ms: number): Worker {
  const w = new Worker(HEARTBEAT_SOURCE, { eval: true, workerData: { path, ms } });
  w.unref();
  return w;
}
