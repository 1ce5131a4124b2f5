import { hostname } from 'node:os';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Who is running a job: `<results>/claims/<job id>`, created exclusively (O_EXCL, atomic on local disks and NFS v3+),
 * holding the host and pid. A claim of a process that died on this host is taken over (renamed away first, so two
 * processes cannot both take it); a claim from another host stands until that host's process removes it.
 */
const CLAIMS_DIR = 'claims';

interface Claim {
  host: string;
  pid: number;
  time: string;
}

const claimPath = (resultsDir: string, id: string) => join(resultsDir, CLAIMS_DIR, id);

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function readClaim(path: string): Promise<Claim | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as Claim;
  } catch {
    return undefined;
  }
}

/** Whether a claim is held by a live process (or by another host, which this one cannot check). */
export async function claimHeld(resultsDir: string, id: string): Promise<Claim | undefined> {
  const c = await readClaim(claimPath(resultsDir, id));
  if (!c) return undefined;
  return c.host !== hostname() || alive(c.pid) ? c : undefined;
}

/** Take the job for this process; false when a live process holds it. */
export async function claimJob(resultsDir: string, id: string): Promise<boolean> {
  const path = claimPath(resultsDir, id);
  await mkdir(join(resultsDir, CLAIMS_DIR), { recursive: true });
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fh = await open(path, 'wx');
      await fh.writeFile(JSON.stringify({ host: hostname(), pid: process.pid, time: new Date().toISOString() } satisfies Claim));
      await fh.sync();
      await fh.close();
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const held = await readClaim(path);
    // Being written this instant (empty), or held by a live process: not ours.
    if (!held || (await claimHeld(resultsDir, id))) return false;
    // A dead process's claim: only the one process whose rename succeeds removes it.
    const tomb = `${path}.stale-${process.pid}`;
    try {
      await rename(path, tomb);
    } catch {
      continue;
    }
    const moved = await readClaim(tomb);
    if (moved && (moved.pid !== held.pid || moved.time !== held.time || moved.host !== held.host)) {
      // Another process took the stale claim over between our read and our rename: give its claim back.
      await rename(tomb, path);
      return false;
    }
    await rm(tomb, { force: true });
  }
  return false;
}

export async function releaseJob(resultsDir: string, id: string): Promise<void> {
  await rm(claimPath(resultsDir, id), { force: true });
}
