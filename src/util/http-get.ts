import { closeSync, openSync, writeSync } from 'node:fs';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';

/**
 * GET/HEAD with node's http client rather than fetch: fetch's web streams drop chunks already received when the
 * connection breaks, and a resumable download must keep every byte that arrived.
 */
export function httpRequestOnce(url: string, method: 'GET' | 'HEAD', headers: Record<string, string>): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const req = (u.protocol === 'https:' ? httpsRequest : httpRequest)(u, { method, headers }, resolve);
    req.on('error', reject);
    req.setTimeout(60_000, () => req.destroy(Object.assign(new Error('no answer for 60 s'), { code: 'ETIMEDOUT' })));
    req.end();
  });
}

/** Follow up to 10 redirects; the token goes only to the origin it was meant for (the hub, not its CDN). */
export async function httpFollow(url: string, method: 'GET' | 'HEAD', headers: Record<string, string>): Promise<{ res: IncomingMessage; url: string }> {
  const origin = new URL(url).origin;
  for (let hop = 0; hop < 10; hop++) {
    const sameOrigin = new URL(url).origin === origin;
    const res = await httpRequestOnce(url, method, sameOrigin ? headers : withoutAuth(headers));
    const location = res.headers.location;
    if (!location || ![301, 302, 303, 307, 308].includes(res.statusCode ?? 0)) return { res, url };
    res.resume();
    url = new URL(location, url).toString();
  }
  throw new Error(`too many redirects from ${url}`);
}

function withoutAuth(h: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(h).filter(([k]) => k.toLowerCase() !== 'authorization'));
}

/** Stream a response body into a file, each chunk written synchronously as it arrives; resolves at the end, rejects on a cut. */
export function saveBody(res: IncomingMessage, path: string, append: boolean, onChunk: (bytes: number) => void): Promise<void> {
  const fd = openSync(path, append ? 'a' : 'w');
  return new Promise<void>((resolve, reject) => {
    let finished = false;
    const done = (err?: Error) => {
      if (finished) return;
      finished = true;
      closeSync(fd);
      err ? reject(err) : resolve();
    };
    res.on('data', (chunk: Buffer) => {
      writeSync(fd, chunk);
      onChunk(chunk.length);
    });
    res.on('end', () => (res.complete ? done() : done(Object.assign(new Error('connection closed early'), { code: 'ECONNRESET' }))));
    res.on('aborted', () => done(Object.assign(new Error('connection closed early'), { code: 'ECONNRESET' })));
    res.on('error', (e) => done(e));
    res.on('close', () => (res.complete ? done() : done(Object.assign(new Error('connection closed early'), { code: 'ECONNRESET' }))));
  });
}
