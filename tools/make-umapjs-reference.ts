/**
 * Writes umap-js's 2-D UMAP of the real UC Merced MobileNetV2 features (test/fixtures/ucmerced-features.ts; needs
 * ../shared) for seeds 0, 1, 2 to test/fixtures/cluster/umapjs-ucmerced.json, with the features' hash and umap-js's
 * version: test/cluster/spectral.test.ts reads them instead of running umap-js while both match. Numbers are written
 * as JSON doubles, so k-means on them is k-means on umap-js's output bit for bit.
 * Rerun when the features or umap-js change:   node --import tsx tools/make-umapjs-reference.ts
 */
import { writeFileSync } from 'node:fs';
import { vstack } from '../src/util/matrix.ts';
import { ucmercedPresent, ucmercedProbeData } from '../test/fixtures/ucmerced-features.ts';
import { UMAPJS_FIXTURE, umapJsEmbedding, umapJsVersion } from '../test/fixtures/umapjs-embedding.ts';

if (!ucmercedPresent()) throw new Error('needs ../shared/data/ucmerced');
const uc = await ucmercedProbeData();
const x = vstack([uc.train, uc.val, uc.test]);
const embeddings = Object.fromEntries([0, 1, 2].map((seed) => [String(seed), umapJsEmbedding(x, seed)]));
const doc = { made_by: 'tools/make-umapjs-reference.ts: umap-js UMAP({ nNeighbors: 15, minDist: 0.1, nComponents: 2, random: seeded(seed) }).fit(rows)', umap_js: umapJsVersion(), feature_hash: uc.featureHash, embeddings };
writeFileSync(UMAPJS_FIXTURE, JSON.stringify(doc) + '\n');
console.log(`wrote ${UMAPJS_FIXTURE}`);
