/**
 * reprobe's layer rules (../shared/STYLE.md, "In reprobe" 10): the folders are pipeline stages and data flows one way,
 * data and backbones → features → methods (probes, finetune, cluster, later zeroshot) on the cell runner in jobs/ →
 * results → report, with metrics/ pure and cli/ on top. `npm test` runs this check.
 */
const stage = (name) => `^src/${name}/`;
const rule = (name, comment, from, to) => ({ name, comment, severity: 'error', from: { path: from }, to });

module.exports = {
  forbidden: [
    rule('library-never-imports-cli', 'the CLI is a thin layer over the library', '^src/(?!cli/)', { path: stage('cli') }),
    rule('backbones-never-import-data', 'decode and preprocessing belong to features/, which sees both', stage('backbones'), { path: stage('data') }),
    rule('data-never-imports-backbones', 'data and backbones are siblings', stage('data'), { path: stage('backbones') }),
    rule('results-and-report-never-import-backbones', 'records hold what ran as plain fields', '^src/(results|report)/', { path: stage('backbones') }),
    rule('metrics-import-only-utilities', 'metrics are pure functions', stage('metrics'), { path: '^src/(?!metrics/|util/(?!ort\\.ts$))' }),
    rule('metrics-import-no-packages', 'metrics are pure functions', stage('metrics'), { dependencyTypes: ['npm', 'npm-dev', 'npm-optional', 'core'] }),
    rule('methods-never-import-backbones', 'probes and clustering see features, not models', '^src/(probes|cluster)/', { path: stage('backbones') }),
    rule('upstream-never-imports-downstream-of-data', 'data is the first stage', '^src/(data|backbones)/', { path: '^src/(features|probes|cluster|finetune|zeroshot|explain|jobs|results|report)/' }),
    rule('features-never-import-methods-or-later', 'features feed the methods', stage('features'), { path: '^src/(probes|cluster|finetune|zeroshot|explain|jobs|results|report)/' }),
    rule('methods-never-import-runner-or-later', 'methods are plugged in by the runner', '^src/(probes|cluster|finetune|zeroshot)/', { path: '^src/(jobs|results|report)/' }),
    rule('explain-never-imports-runner-or-later', 'explanation methods see a resolved backbone and pixels; jobs/explain.ts runs them', stage('explain'), { path: '^src/(jobs|results|report|cli)/' }),
    rule('results-never-import-runner-or-report', 'results are written by the runner and read by the report', stage('results'), { path: '^src/(jobs|report)/' }),
    rule('report-never-imports-runner', 'reports only read results', stage('report'), { path: stage('jobs') }),
    rule('one-module-imports-onnxruntime', 'src/util/ort.ts wraps onnxruntime-node; everything else sees Matrix and typed arrays', '^src/(?!util/ort\\.ts$)', { path: 'onnxruntime-node' }),
    rule('tfjs-in-its-homes', 'tfjs runs Keras backbones (src/backbones/tfjs.ts), trains (src/finetune/) and takes gradients for explanations (src/explain/)', '^src/(?!backbones/tfjs\\.ts$|finetune/|explain/)', { path: '@tensorflow/' }),
    rule('one-module-picks-tfjs-backends', 'src/backbones/tfjs.ts picks and loads the tfjs backends (others may name their types)', '^src/(?!backbones/tfjs\\.ts$)', { path: '@tensorflow/tfjs-(node|backend)', dependencyTypesNot: ['type-only'] }),
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
