/**
 * Writes the normalised Laplacian's eigenvectors (tools/spectral_reference.py, numpy's dense eigh; REPROBE_PYTHON names
 * an interpreter with numpy, e.g. the reference venv of tools/make-venv.sh) for the fuzzy graph of the generated points
 * of test/fixtures/spectral-case.ts to test/fixtures/cluster/spectral-numpy.json.
 * Rerun when the case changes:   node --import tsx tools/make-spectral-reference.ts
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spectralCase } from '../test/fixtures/spectral-case.ts';

const { graph, dims } = await spectralCase();
const job = { n: graph.n, rows: [...graph.rows], cols: [...graph.cols], weights: [...graph.weights], dims };
const out = execFileSync(process.env.REPROBE_PYTHON ?? '/usr/bin/python3', [join(import.meta.dirname, 'spectral_reference.py')], { input: JSON.stringify(job), encoding: 'utf8', maxBuffer: 1 << 26 });
const path = join(import.meta.dirname, '..', 'test', 'fixtures', 'cluster', 'spectral-numpy.json');
writeFileSync(path, JSON.stringify({ made_by: 'tools/make-spectral-reference.ts', ...JSON.parse(out) }) + '\n');
console.log(`wrote ${path}`);
