// Peak memory of `reprobe extract` (through the cache) at N and 10N images: the pipeline keeps one batch in flight and
// one chunk in memory, so the peak should stay flat (issue 6: within 20 %) as the dataset grows.
//   npm run bench:memory [-- --n 300]
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { tempDir } from '../test/helpers.ts';

const i = process.argv.indexOf('--n');
const N = i > 0 ? Number(process.argv[i + 1]) : 300;
const bin = join(import.meta.dirname, '..', 'bin', 'reprobe.mjs');
const preload = join(tempDir(), 'rss.mjs');
writeFileSync(preload, "process.on('exit', () => process.stderr.write(`maxrss_kb ${process.resourceUsage().maxRSS}\\n`));\n");

async function folder(n: number): Promise<string> {
  const root = tempDir();
  for (let c = 0; c < 10; c++) mkdirSync(join(root, `c${c}`));
  for (let k = 0; k < n; k++) {
    const px = Buffer.alloc(32 * 32 * 3);
    for (let p = 0; p < px.length; p++) px[p] = (p * 7 + k * 13) % 256;
    await sharp(px, { raw: { width: 32, height: 32, channels: 3 } }).jpeg().toFile(join(root, `c${k % 10}`, `${k}.jpg`));
  }
  return root;
}

console.log('images  peak RSS MB  seconds');
const peaks: number[] = [];
for (const n of [N, 10 * N]) {
  const data = await folder(n);
  const t0 = performance.now();
  const r = spawnSync(process.execPath, ['--import', preload, bin, 'extract', '-b', 'mobilenet-v2', '-d', `folder:${data}`], { encoding: 'utf8', env: { ...process.env, REPROBE_HOME: tempDir() } });
  if (r.status !== 0) throw new Error(r.stderr);
  const kb = Number(/maxrss_kb (\d+)/.exec(r.stderr)?.[1]);
  peaks.push(kb);
  console.log(`${String(n).padStart(6)}  ${(kb / 1024).toFixed(0).padStart(11)}  ${((performance.now() - t0) / 1000).toFixed(1).padStart(7)}`);
}
const growth = peaks[1] / peaks[0] - 1;
console.log(`peak grows ${(growth * 100).toFixed(1)} % for 10x the images: ${growth <= 0.2 ? 'met' : 'MISSED'} (<= 20 %)`);
