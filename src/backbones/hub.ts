import { existsSync, readFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { BackboneError, ReprobeError } from '../errors.ts';
import { downloadFile, isOffline, reason, type Expected } from '../util/download.ts';
import { reprobeHome } from '../util/paths.ts';
import { httpRequestOnce } from '../util/http-get.ts';
import type { HubSource } from './types.ts';

/** One file of a hub repo. */
export interface HubFile {
  repo: string;
  file: string;
  revision?: string;
}

export interface PullOptions {
  onProgress?: (bytes: number, total: number | undefined) => void;
  /** Resumed attempts after a cut connection (default 3). */
  retries?: number;
  /** Card name, for the `reprobe models pull NAME` hint. */
  name?: string;
  /** How to make the file when the hub has none. */
  exportHint?: string;
}

const hubEndpoint = () => (process.env.HF_ENDPOINT || 'https://huggingface.co').replace(/\/+$/, '');
const rev = (f: HubFile) => f.revision ?? 'main';

/** reprobe's own copy: $REPROBE_HOME/models/<org>/<name>/<revision>/<file>. */
export function reprobeCachePath(f: HubFile): string {
  return join(reprobeHome(), 'models', ...f.repo.split('/'), rev(f), ...f.file.split('/'));
}

/** The same file in a huggingface_hub cache (HF_HUB_CACHE, HF_HOME/hub or ~/.cache/huggingface/hub), if it is there. */
function hfCachePath(f: HubFile): string | undefined {
  const root = process.env.HF_HUB_CACHE || join(process.env.HF_HOME || join(homedir(), '.cache', 'huggingface'), 'hub');
  const repoDir = join(root, `models--${f.repo.replace(/\//g, '--')}`);
  let commit = rev(f);
  if (!/^[0-9a-f]{40}$/.test(commit)) {
    try {
      commit = readFileSync(join(repoDir, 'refs', commit), 'utf8').trim();
    } catch {
      return undefined;
    }
  }
  const p = join(repoDir, 'snapshots', commit, ...f.file.split('/'));
  return existsSync(p) ? p : undefined;
}

/** A finished local copy (reprobe's cache first, then the HF cache), or undefined. */
export function findCached(f: HubFile): string | undefined {
  const own = reprobeCachePath(f);
  return existsSync(own) ? own : hfCachePath(f);
}

/** The URL huggingface_hub downloads from: <endpoint>/<repo>/resolve/<revision>/<file>. */
function resolveUrl(f: HubFile): string {
  return `${hubEndpoint()}/${f.repo}/resolve/${encodeURIComponent(rev(f))}/${f.file.split('/').map(encodeURIComponent).join('/')}`;
}

/** One hub file into reprobe's cache (resumable, checked against the size and sha256 the hub announces), unless cached. */
export async function pullFile(f: HubFile, opt: PullOptions = {}): Promise<string> {
  const cached = findCached(f);
  if (cached) return cached;
  if (isOffline()) throw notCached(f, 'offline mode is on (HF_HUB_OFFLINE / REPROBE_OFFLINE)', opt.name);
  const dest = reprobeCachePath(f);
  const url = resolveUrl(f);
  const headers: Record<string, string> = process.env.HF_TOKEN ? { authorization: `Bearer ${process.env.HF_TOKEN}` } : {};
  const remote = await probe(url, headers, f, opt);
  try {
    return await downloadFile(url, dest, { ...remote, headers, retries: opt.retries, onProgress: opt.onProgress, label: `${f.repo}/${f.file}` });
  } catch (err) {
    throw err instanceof ReprobeError && !(err instanceof BackboneError) ? new BackboneError(err.message) : err;
  }
}

/** HEAD without following redirects: the hub puts size and sha256 on its own answer, before the CDN redirect. */
async function probe(url: string, headers: Record<string, string>, f: HubFile, opt: PullOptions): Promise<Expected> {
  let res: IncomingMessage;
  try {
    res = await httpRequestOnce(url, 'HEAD', headers);
    res.resume();
  } catch (err) {
    throw notCached(f, `cannot reach ${hubEndpoint()} (${reason(err)})`, opt.name);
  }
  const status = res.statusCode ?? 0;
  if (status === 401 || status === 403) throw new BackboneError(`${url} answered ${status}: the repo is gated or private; set HF_TOKEN to a token that can read it.`);
  if (status === 404) {
    throw new BackboneError(`${url} does not exist (404).${opt.exportHint ? ` Make it: ${opt.exportHint} (${reprobeCachePath(f)}).` : ''}`);
  }
  if (status >= 400) throw new BackboneError(`${url} answered ${status} ${res.statusMessage ?? ''}.`);
  const header = (k: string) => (res.headers[k] as string | undefined) ?? null;
  const etag = (header('x-linked-etag') ?? header('etag') ?? '').replace(/^W\//, '').replace(/"/g, '');
  const size = num(header('x-linked-size')) ?? (status === 200 ? num(header('content-length')) : undefined);
  return { size, sha256: /^[0-9a-f]{64}$/.test(etag) ? etag : undefined };
}

const num = (h: string | null) => (h && /^\d+$/.test(h) ? Number(h) : undefined);

function notCached(f: HubFile, why: string, name?: string): BackboneError {
  const fetchIt = `\`reprobe models pull ${name ?? f.repo}\` fetches it when the hub is reachable`;
  return new BackboneError(`${f.repo}/${f.file} is not cached (${reprobeCachePath(f)}) and ${why}; ${fetchIt}.`);
}

/** Every file a hub card needs (the image tower, and the text tower when it has one). */
export function hubFiles(source: HubSource, textFile?: string): HubFile[] {
  const base = { repo: source.repo, revision: source.revision };
  return [{ ...base, file: source.file }, ...(textFile ? [{ ...base, file: textFile }] : [])];
}
