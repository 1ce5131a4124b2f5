/**
 * Fixtures that cost seconds to make (converted models, exported ONNX files, extracted features), made once per npm
 * test run and shared by the files that need the same one: a folder under REPROBE_TEST_CACHE (the run's, which
 * test/runner/run.ts removes after it) named by the sha256 of everything that decides its content. The folder is
 * made under a temp name and renamed into place, so two files running at once never see half of one; while one
 * process makes it (a lock file holding its pid) the others wait for it rather than make it too, and when a maker died
 * the next one takes over. A file run alone (no REPROBE_TEST_CACHE) makes its
 * fixtures in a temp folder of its own, removed at exit.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from './helpers.ts';
import { removeAll } from './runner/remove.ts';
import { processAlive } from '../src/util/process-alive.ts';

let own: string | undefined;
const root = () => process.env.REPROBE_TEST_CACHE ?? (own ??= tempDir('reprobe-fixtures-'));

/**
 * The folder holding the fixture `name` made from `inputs` (JSON: every setting, seed and the content of every input
 * file that decides it), made by `make(folder)` when this run has none yet. The caller only reads the folder.
 */
export async function cachedFixture(name: string, inputs: unknown, make: (dir: string) => void | Promise<void>): Promise<string> {
  const key = createHash('sha256').update(JSON.stringify([name, inputs])).digest('hex').slice(0, 24);
  // A REPROBE_TEST_CACHE set by hand may not exist yet: its lock file could never be made, and the wait never ended.
  mkdirSync(root(), { recursive: true });
  const dir = join(root(), `${name.replace(/[^\w.-]+/g, '-')}-${key}`);
  for (;;) {
    if (existsSync(dir)) return dir;
    if (takeLock(`${dir}.lock`)) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  try {
    return await makeInto(dir, make);
  } finally {
    rmSync(`${dir}.lock`, { force: true });
  }
}

/** Whether this process now holds the lock: made it, or took it from a process that is gone. */
function takeLock(lock: string): boolean {
  try {
    writeFileSync(lock, String(process.pid), { flag: 'wx' });
    return true;
  } catch {
    const pid = Number(readFileSafe(lock));
    // No pid yet: its maker has only just made the file.
    if (!pid || processAlive(pid)) return false;
    // Its maker died: remove its lock and race for a new one.
    rmSync(lock, { force: true });
    return false;
  }
}

function readFileSafe(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

async function makeInto(dir: string, make: (dir: string) => void | Promise<void>): Promise<string> {
  if (existsSync(dir)) return dir;
  const tmp = `${dir}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
  mkdirSync(tmp, { recursive: true });
  try {
    await make(tmp);
    renameSync(tmp, dir);
  } catch (err) {
    removeAll(tmp);
    // Another process renamed its copy first: theirs has the same content.
    if (existsSync(dir) && ['ENOTEMPTY', 'EEXIST'].includes((err as NodeJS.ErrnoException).code ?? '')) return dir;
    throw err;
  }
  return dir;
}
