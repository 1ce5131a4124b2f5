import { mkdir, rename, rm, stat, truncate } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ReprobeError } from '../errors.ts';
import { sha256File } from './hash-file.ts';
import { httpFollow, saveBody } from './http-get.ts';

/** HF_HUB_OFFLINE / REPROBE_OFFLINE set: never touch the network. */
export const isOffline = () => ['1', 'true', 'yes', 'on'].includes((process.env.HF_HUB_OFFLINE || process.env.REPROBE_OFFLINE || '').toLowerCase());

export interface Expected {
  size?: number;
  sha256?: string;
}

export interface DownloadOptions extends Expected {
  headers?: Record<string, string>;
  /** Resumed attempts after a cut connection (default 3). */
  retries?: number;
  onProgress?: (bytes: number, total: number | undefined) => void;
  /** Names the file in messages, e.g. `dino-vits16: onnx/model.onnx`. */
  label?: string;
}

/**
 * url → dest: resumes `<dest>.incomplete` with a Range request (retrying a cut connection), checks the size and
 * sha256 when known, then renames into place, so `dest` is either whole and verified or absent.
 */
export async function downloadFile(url: string, dest: string, opt: DownloadOptions = {}): Promise<string> {
  const part = `${dest}.incomplete`;
  const label = opt.label ?? url;
  await mkdir(dirname(dest), { recursive: true });
  const retries = opt.retries ?? 3;
  for (let attempt = 0; ; attempt++) {
    try {
      await fetchInto(url, part, opt);
      break;
    } catch (err) {
      if (err instanceof ReprobeError) throw err;
      if (attempt >= retries) {
        const have = (await stat(part).catch(() => undefined))?.size ?? 0;
        throw new ReprobeError(`Download of ${label} was cut after ${have} bytes (${reason(err)}); run the same command again to resume.`);
      }
    }
  }
  await verify(part, opt, label);
  await rename(part, dest);
  return dest;
}

async function fetchInto(url: string, part: string, opt: DownloadOptions): Promise<void> {
  let have = (await stat(part).catch(() => undefined))?.size ?? 0;
  if (opt.size !== undefined && have > opt.size) {
    await truncate(part, 0);
    have = 0;
  }
  if (opt.size !== undefined && have === opt.size) return;
  const headers = opt.headers ?? {};
  const { res } = await httpFollow(url, 'GET', have > 0 ? { ...headers, range: `bytes=${have}-` } : headers);
  const status = res.statusCode ?? 0;
  if (status === 416 && opt.size === have) return void res.resume();
  if (status !== 200 && status !== 206) {
    res.resume();
    throw new ReprobeError(`${url} answered ${status} ${res.statusMessage ?? ''} to the download.`);
  }
  if (status === 200) have = 0; // the server ignored the range: start over
  const length = Number(res.headers['content-length']);
  const total = opt.size ?? (Number.isFinite(length) ? length + have : undefined);
  let done = have;
  opt.onProgress?.(done, total);
  await saveBody(res, part, have > 0, (n) => {
    done += n;
    opt.onProgress?.(done, total);
  });
}

async function verify(part: string, want: Expected, label: string): Promise<void> {
  const size = (await stat(part)).size;
  if (want.size !== undefined && size !== want.size) {
    await rm(part, { force: true });
    throw new ReprobeError(`Download of ${label} has ${size} bytes, expected ${want.size}; removed it, run the command again.`);
  }
  if (want.sha256) {
    const got = (await sha256File(part)).digest;
    if (got !== want.sha256) {
      await rm(part, { force: true });
      throw new ReprobeError(`Download of ${label} is corrupt: sha256 ${got.slice(0, 12)}…, expected ${want.sha256.slice(0, 12)}…; removed it, run the command again.`);
    }
  }
}

export function reason(err: unknown): string {
  const e = err as { code?: string; cause?: { code?: string; message?: string }; message?: string };
  return e?.code ?? e?.cause?.code ?? e?.cause?.message ?? e?.message ?? String(err);
}
