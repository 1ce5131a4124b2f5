/**
 * reprobe's layer rules (../shared/STYLE.md, "In reprobe" 10): the folders are pipeline stages and data flows one way,
 * data and backbones → features → methods (probes, finetune, cluster, later zeroshot) on the cell runner in jobs/ →
 * results → report, with metrics/ pure and cli/ on top. `npm test` runs this check: ALLOWED says what each stage may
 * import (anything else fails, a new folder included), and the forbidden rules keep the narrower limits inside it.
 */
const stage = (name) => `^src/${name}/`;
const rule = (name, comment, from, to) => ({ name, comment, severity: 'error', from: { path: from }, to });
/** `from` may import these stages (besides itself, src/errors.ts, packages and node's modules). */
const may = (from, to, comment) => ({ comment, from: { path: stage(from) }, to: { path: `^src/(${to.join('|')})/` } });

/*
 * The allow-list: a stage imports only what sits below it, and a new folder imports nothing until a line here says
 * what it may. Bottom to top: util; runtime (onnxruntime, tfjs, the ONNX → tfjs translator, training kernels, the
 * quantizer, the Keras converter) and metrics; text (the tokenizer); data and backbones; method (the Method contract,
 * per-image predictions, the output options every method shares); features; train (the one trainer: loop, optimizer,
 * early stopping, checkpoints, heads); the methods, each in its folder with its wiring (probes, cluster, finetune,
 * zeroshot; explain, which may read a fine-tuned run); results; jobs (the cell runner and the method registry);
 * report; cli.
 */
const BELOW_METHODS = ['util', 'runtime', 'metrics', 'method'];
const ALLOWED = [
  { comment: 'a folder imports its own files', from: { path: '^src/([^/]+)/' }, to: { path: '^src/$1/' } },
  { comment: 'every stage may raise the errors a user can fix', from: { path: '^src/' }, to: { path: '^src/errors\\.ts$' } },
  { comment: 'packages and node modules (the forbidden rules below still keep onnxruntime and tfjs in their homes)', from: {}, to: { dependencyTypes: ['npm', 'npm-dev', 'npm-optional', 'npm-peer', 'core', 'type-only', 'aliased-subpath-import'], path: '^(?!src/)' } },
  { comment: 'ambient declarations', from: { path: '^src/' }, to: { path: '^src/types/' } },
  { comment: 'tests, benches, tools and scripts are outside the layers', from: { path: '^(?!src/)' }, to: {} },
  may('runtime', ['util'], 'runtimes run graphs and tensors; they know no cards'),
  may('metrics', ['util'], 'metrics are pure'),
  may('text', ['util'], 'the tokenizer and its text cleaning'),
  may('data', ['util', 'metrics'], 'data is the first stage (metrics: the split arithmetic)'),
  may('backbones', ['util', 'runtime', 'text'], 'cards, their registry and hub, run on the runtimes (a text tower with the tokenizer)'),
  may('method', ['util', 'metrics', 'data', 'backbones'], 'the contract names what a method gets: a dataset, a backbone, features'),
  may('features', ['util', 'runtime', 'data', 'backbones', 'method'], 'features read images with a backbone, for a cell'),
  may('train', ['util', 'runtime', 'metrics'], 'the trainer trains tfjs models'),
  may('probes', BELOW_METHODS, 'probes see features, not models'),
  may('cluster', BELOW_METHODS, 'clustering sees features, not models'),
  may('finetune', [...BELOW_METHODS, 'backbones', 'features', 'train'], 'fine-tuning trains a backbone (its head on the cached features)'),
  may('zeroshot', [...BELOW_METHODS, 'train'], 'zero-shot sees embeddings; PRO trains its head'),
  may('explain', [...BELOW_METHODS, 'backbones', 'train', 'finetune'], 'explanations run a backbone; Grad-CAM of a fine-tuned run rebuilds its model from its checkpoint'),
  may('results', ['util', 'metrics', 'data', 'method'], 'records hold what ran as plain fields'),
  may('jobs', [...BELOW_METHODS, 'data', 'backbones', 'text', 'features', 'train', 'probes', 'cluster', 'finetune', 'zeroshot', 'explain', 'results'], 'the cell runner plugs the methods in'),
  may('report', ['util', 'metrics', 'data', 'results'], 'reports read results (and open a record\'s dataset to show its test images in galleries)'),
  may('cli', [...BELOW_METHODS, 'data', 'backbones', 'text', 'features', 'train', 'probes', 'cluster', 'finetune', 'zeroshot', 'explain', 'results', 'jobs', 'report'], 'the CLI calls the library'),
];

module.exports = {
  allowed: ALLOWED,
  allowedSeverity: 'error',
  forbidden: [
    rule('library-never-imports-cli', 'the CLI is a thin layer over the library', '^src/(?!cli/)', { path: stage('cli') }),
    rule('backbones-never-import-data', 'decode and preprocessing belong to features/, which sees both', stage('backbones'), { path: stage('data') }),
    rule('data-never-imports-backbones', 'data and backbones are siblings', stage('data'), { path: stage('backbones') }),
    rule('results-and-report-never-import-backbones', 'records hold what ran as plain fields', '^src/(results|report)/', { path: stage('backbones') }),
    rule('metrics-import-only-utilities', 'metrics are pure functions', stage('metrics'), { path: '^src/(?!metrics/|util/)' }),
    rule('metrics-import-no-packages', 'metrics are pure functions', stage('metrics'), { dependencyTypes: ['npm', 'npm-dev', 'npm-optional', 'core'] }),
    rule('methods-never-import-backbones', 'probes and clustering see features, not models', '^src/(probes|cluster)/', { path: stage('backbones') }),
    rule('upstream-never-imports-downstream-of-data', 'data is the first stage', '^src/(data|backbones)/', { path: '^src/(features|probes|cluster|finetune|zeroshot|explain|jobs|results|report)/' }),
    rule('features-never-import-methods-or-later', 'features feed the methods', stage('features'), { path: '^src/(probes|cluster|finetune|zeroshot|explain|jobs|results|report)/' }),
    rule('methods-never-import-runner-or-later', 'methods are plugged in by the runner', '^src/(probes|cluster|finetune|zeroshot)/', { path: '^src/(jobs|results|report)/' }),
    rule('explain-never-imports-runner-or-later', 'explanation methods see a resolved backbone and pixels; jobs/explain.ts runs them', stage('explain'), { path: '^src/(jobs|results|report|cli)/' }),
    rule('results-never-import-runner-or-report', 'results are written by the runner and read by the report', stage('results'), { path: '^src/(jobs|report)/' }),
    rule('report-never-imports-runner', 'reports only read results', stage('report'), { path: stage('jobs') }),
    rule('one-module-imports-onnxruntime', 'src/runtime/ort.ts wraps onnxruntime-node; everything else sees Matrix and typed arrays', '^src/(?!runtime/ort\\.ts$)', { path: 'onnxruntime-node' }),
    rule('tfjs-in-its-homes', 'tfjs runs in src/runtime/ (backends, the ONNX translation, training kernels, attention gradients), trains (src/train/, src/finetune/) and takes gradients for explanations (src/explain/)', '^src/(?!runtime/|train/|finetune/|explain/)', { path: '@tensorflow/' }),
    rule('one-module-picks-tfjs-backends', 'src/runtime/tfjs.ts picks and loads the tfjs backends (others may name their types)', '^src/(?!runtime/tfjs\\.ts$)', { path: '@tensorflow/tfjs-(node|backend)', dependencyTypesNot: ['type-only'] }),
    { name: 'no-cycles', severity: 'error', from: { path: '^src/' }, to: { circular: true } },
    { name: 'no-unresolvable', severity: 'error', from: {}, to: { couldNotResolve: true } },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default', 'types'], extensions: ['.ts', '.js', '.mjs', '.cjs', '.json'] },
  },
};
