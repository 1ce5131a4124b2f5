import type { Argv } from 'yargs';
import { ReprobeError } from '../errors.ts';
import { doctor, type Check, type DoctorReport, type Place } from '../jobs/doctor.ts';
import { DEVICES } from '../jobs/job-schema.ts';
import type { Command } from './command.ts';

const MB = (bytes: number) => (bytes >= 1e9 ? `${(bytes / 1e9).toFixed(1)} GB` : `${(bytes / 1e6).toFixed(1)} MB`);
const where = (p: Place, env: string) => `${p.path}${p.exists ? '' : ' (not created yet)'}${p.free_gb === null ? '' : `, ${p.free_gb} GB free`}; set with ${env}`;
const check = (c: Check) => `${c.ok === null ? 'not tried' : c.ok ? 'yes' : 'no'}, ${c.detail}`;
const list = (xs: string[], max = 6) => (xs.length > max ? `${xs.slice(0, max).join(', ')}, … (${xs.length - max} more)` : xs.join(', '));

/** The report as headed groups of `key: value` lines. */
function sections(r: DoctorReport): [string, [string, string][]][] {
  const v = r.versions;
  const h = r.hardware;
  const f = r.cached.features;
  const m = r.cached.models;
  return [
    ['versions', [['node', v.node], ['npm', v.npm ?? 'not found'], ['reprobe', `${v.reprobe}${v.commit ? ` (commit ${v.commit}${v.dirty ? ', with uncommitted changes' : ''})` : ''}`], ['onnxruntime-node', v.onnxruntime], ['tfjs', v.tfjs], ['sharp', v.sharp]]],
    ['hardware', [['cpu', h.cpu], ['cores', `${h.cores} logical`], ['features', h.features.join(' ') || 'not reported by this OS'], ['memory', `${h.memory_gb} GB`], ['os', h.os], ['gpu', h.gpu ?? 'none found (nvidia-smi)']]],
    [`tfjs backends (auto picks ${r.tfjs.auto ?? 'none'})`, r.tfjs.backends.map((b) => [b.name, check(b)])],
    ['onnxruntime execution providers', r.onnxruntime.providers.map((p) => [p.name, check(p)])],
    ['folders', [['cache root', where(r.roots.cache, '$REPROBE_HOME')], ['data root', where(r.roots.data, '--data-root or $REPROBE_DATA')]]],
    [
      'cached',
      [
        ['features', `${f.entries} entr${f.entries === 1 ? 'y' : 'ies'}${f.partial ? `, ${f.partial} partial` : ''}${f.invalid ? `, ${f.invalid} unreadable` : ''}, ${MB(f.bytes)} (\`reprobe cache list\`)`],
        ['models', m.repos.length ? `${list(m.repos)}: ${m.files} files, ${MB(m.bytes)}` : 'none'],
        ['converted', `${r.cached.converted.files} ONNX graph(s) of Keras backbones, ${MB(r.cached.converted.bytes)}`],
      ],
    ],
    ['GPU use', r.gpu.length ? r.gpu.map((g) => [g.runtime, g.install] as [string, string]) : [['ready', 'onnxruntime CUDA and tfjs-node-gpu both start']]],
  ];
}

/** Aligned `key: value` lines under their headings. */
function formatDoctor(r: DoctorReport): string {
  const groups = sections(r);
  const width = Math.max(...groups.flatMap(([, rows]) => rows.map(([k]) => k.length))) + 1;
  return groups.map(([head, rows]) => [head, ...rows.map(([k, val]) => `  ${`${k}:`.padEnd(width)} ${val}`)].join('\n')).join('\n\n');
}

async function run(a: { device: 'cpu' | 'cuda'; strict: boolean; json: boolean }): Promise<void> {
  const r = await doctor({ device: a.device, strict: a.strict });
  const d = r.device;
  const tail = d.usable ? '' : a.strict ? '' : `\n\n--device ${d.asked}: not usable, runs would fall back to the CPU (--strict fails instead): ${d.missing}`;
  process.stdout.write(a.json ? `${JSON.stringify(r, null, 2)}\n` : `${formatDoctor(r)}${tail}\n`);
  if (!d.usable && a.strict) throw new ReprobeError(`--device ${d.asked} --strict: ${d.missing}.`);
}

function options(y: Argv) {
  return y
    .option('device', { choices: DEVICES, default: 'cpu' as const, describe: 'the device runs will ask for; cuda is checked the way `--device cuda` opens it' })
    .option('strict', { alias: 'require-device', type: 'boolean', default: false, describe: 'exit 2 when --device cannot be used (runs with --strict would fail)' })
    .option('json', { type: 'boolean', default: false, describe: 'the whole report as one JSON object' })
    .example('$0 doctor', 'versions, hardware, runtimes, folders and caches')
    .example('$0 doctor --device cuda --strict', 'exit 2, saying what is missing, unless onnxruntime runs on CUDA here');
}

export const doctorCommand: Command = {
  name: 'doctor',
  register: (y) => y.command('doctor', 'what this machine can run: versions, CPU extensions, runtimes, GPU setup, folders and caches', options, (a) => run(a)),
};
