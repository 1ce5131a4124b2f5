import assert from 'node:assert/strict';
import { cpSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { test } from 'node:test';
import sharp from 'sharp';
import { writeReport } from '../../src/report/write-report.ts';
import { tempDir } from '../helpers.ts';
import { browse, consoleLines, NO_CHROMIUM } from './chromium.ts';
import { CLASSES, imageId, REF, writePredictionStore } from './prediction-store.ts';

/**
 * A copy of `page` with a probe that, once the page and its images have loaded, writes onto <body> how many images
 * there are and how many decoded (naturalWidth > 0), and (`hover`) what the UMAP tip shows after a mouseover on a point.
 */
function probe(page: string, hover: boolean): string {
  // Thumbnails load lazily: wait (up to 3 s) until every shown one is complete, then count those that decoded.
  const script = `<script>window.addEventListener('load', function () {
  var tries = 0;
  (function count() {
    var imgs = Array.prototype.slice.call(document.images).filter(function (i) { return !i.closest('[hidden]'); });
    if (tries++ < 30 && imgs.some(function (i) { return !i.complete; })) return setTimeout(count, 100);
    document.body.setAttribute('data-imgs', imgs.length);
    document.body.setAttribute('data-loaded', imgs.filter(function (i) { return i.complete && i.naturalWidth > 0; }).length);
  })();
  ${hover ? `var c = document.querySelector('.hover-scatter circle[data-src]');
  c.dispatchEvent(new MouseEvent('mouseover', { bubbles: true }));
  var tip = document.querySelector('.hover-scatter .tip'), img = tip.querySelector('img');
  img.addEventListener('load', function () { document.body.setAttribute('data-tip', (tip.hidden ? 'hidden' : 'shown') + '|' + tip.textContent + '|' + img.naturalWidth); });` : ''}
});</script>`;
  const path = page.replace(/\.html$/, '.probe.html');
  writeFileSync(path, readFileSync(page, 'utf8').replace('</body>', `${script}</body>`));
  return pathToFileURL(path).href;
}

const attr = (dom: string, name: string) => /<body[^>]*>/.exec(dom)![0].match(new RegExp(`${name}="([^"]*)"`))?.[1];

test('galleries in headless Chromium from a copied folder: thumbnails load, mistakes and one pair filter, heatmap, hover on the UMAP', { skip: NO_CHROMIUM }, async () => {
  const results = tempDir();
  await writePredictionStore(results);
  const built = tempDir();
  const { paths } = await writeReport(results, ['html'], built);
  // Thumbnails are made once: a second report finds them by name and makes none.
  const thumbs = join(built, 'gallery', 'thumbs');
  const times = new Map(readdirSync(thumbs).map((f) => [f, statSync(join(thumbs, f)).mtimeMs]));
  assert.equal(times.size, 60, 'one thumbnail per test image, shared by the cells');
  await writeReport(results, ['html'], built);
  assert.deepEqual(new Map(readdirSync(thumbs).map((f) => [f, statSync(join(thumbs, f)).mtimeMs])), times);
  // The report folder is copied elsewhere and the original removed: every link is relative.
  const out = join(tempDir(), 'copied');
  cpSync(built, out, { recursive: true });
  rmSync(built, { recursive: true });

  const gallery = paths.find((p) => /gallery\/m3_lr_10_seed0_[0-9a-f]{8}\.html$/.test(p))!.replace(built, out);
  const pred = REF.ranks.preds[3];
  const { truth } = REF.paired;
  // By hand from the reference's predictions: m3's mistakes, and those between c0 and c1 either way.
  const mistakes = truth.filter((t, i) => pred[i] !== t).length;
  const pair01 = truth.filter((t, i) => (t === 0 && pred[i] === 1) || (t === 1 && pred[i] === 0)).length;
  for (const [hash, shown] of [['', 60], ['#mistakes', mistakes], ['#pair=0,1', pair01]] as const) {
    // A window tall enough for all 60 (the images load lazily, as they come into view).
    const dom = browse(probe(gallery, false) + hash, '--dump-dom', '--virtual-time-budget=8000', '--window-size=1200,3000');
    assert.deepEqual(consoleLines(dom.stderr, '.probe.html'), []);
    assert.equal(attr(dom.stdout, 'data-shown'), String(shown), hash);
    assert.equal(attr(dom.stdout, 'data-imgs'), String(shown));
    assert.equal(attr(dom.stdout, 'data-loaded'), String(shown), 'every shown thumbnail decoded');
  }
  const page = readFileSync(gallery, 'utf8');
  // The heatmap's counts: row c0 of m3's confusion matrix, counted by hand.
  const row0 = CLASSES.map((_, p) => truth.filter((t, i) => t === 0 && pred[i] === p).length);
  const heat = page.slice(page.indexOf('<table class="heat">'), page.indexOf('</table>'));
  assert.deepEqual([...heat.split('<tr><th>c0</th>')[1].split('</tr>')[0].matchAll(/>(\d+)</g)].map((m) => Number(m[1])), row0);
  assert.match(page, /<select id="filter" data-classes="\[&quot;c0&quot;,&quot;c1&quot;,&quot;c2&quot;,&quot;c3&quot;\]"><option value="">all images<\/option><option value="mistakes">mistakes \(37\)<\/option><option value="pair=0,1">c0 ↔ c1/);
  assert.match(page, new RegExp(`<figure class="wrong" data-t="${truth[0]}" data-p="${pred[0]}" title="${imageId(0)}"><img src="thumbs/[0-9a-f]{32}\\.jpg"`));

  // --gallery-images 45: m3's 37 mistakes and the first 8 right images (in test order); the heatmap still counts all 60.
  const capped = tempDir();
  const few = (await writeReport(results, ['html'], capped, undefined, { galleryImages: 45 })).paths.find((p) => /m3_lr_10/.test(p))!;
  const small = readFileSync(few, 'utf8');
  const right = truth.flatMap((t, i) => (pred[i] === t ? [i] : [])).slice(0, 8);
  const expected = truth.flatMap((t, i) => (pred[i] !== t || right.includes(i) ? [imageId(i)] : []));
  assert.deepEqual([...small.matchAll(/<figure [^>]*title="([^"]+)"/g)].map((m) => m[1]), expected);
  assert.match(small, /60 test images, 37 mistaken \(accuracy 0\.3833\)\. Shown below: 45 of them, every mistake and 8 right/);
  assert.equal(small.slice(small.indexOf('<table class="heat">'), small.indexOf('</table>')), heat);
  // The scatter's 60 points over a limit of 45: every second point (0, 2, …, 58) carries a thumbnail, all carry a label.
  const capReport = readFileSync(join(capped, 'report.html'), 'utf8');
  assert.deepEqual([...capReport.matchAll(/<circle [^>]*?(data-src="[^"]+" )?data-label="[^"]+ · ([^"]+)"/g)].filter((m) => m[1]).map((m) => m[2]), truth.flatMap((_, i) => (i % 2 ? [] : [imageId(i)])));

  const png = join(tempDir(), 'gallery.png');
  const shot = browse(pathToFileURL(gallery).href + '#mistakes', `--screenshot=${png}`, '--window-size=1000,1400');
  assert.deepEqual(consoleLines(shot.stderr, 'gallery'), []);
  assert.deepEqual([(await sharp(png).metadata()).width, (await sharp(png).metadata()).height], [1000, 1400]);
  assert.ok((await sharp(png).stats()).channels[0].stdev > 10, 'the screenshot is not a blank page');

  // The report: its UMAP scatter shows the first point's thumbnail and label on hover; links to every gallery.
  const dom = browse(probe(join(out, 'report.html'), true), '--dump-dom', '--virtual-time-budget=5000');
  assert.deepEqual(consoleLines(dom.stderr, '.probe.html'), []);
  assert.equal(attr(dom.stdout, 'data-tip'), `shown|${CLASSES[truth[0]]} · ${imageId(0)}|128`);
  assert.equal((dom.stdout.match(/<circle [^>]*data-src="gallery\/thumbs\/[0-9a-f]{32}\.jpg"/g) ?? []).length, 60);
  assert.equal((dom.stdout.match(/<a href="gallery\/[^"]+\.html">/g) ?? []).length, 6);
  assert.match(dom.stdout, /No gallery for 1 cell\(s\) without stored predictions \(old lr_10 on/);
});
