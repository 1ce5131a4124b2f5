import type { Argv } from 'yargs';
import { ConfigError, printable } from '../errors.ts';
import { EXPLAINER_NAMES } from '../explain/explainers.ts';
import { RELEVANCE_DEFAULTS } from '../explain/relevance.ts';
import { HEAD_FUSIONS, ROLLOUT_DEFAULTS, type RolloutOptions } from '../explain/rollout.ts';
import { EXPLAIN_DEFAULTS, runExplain } from '../jobs/explain.ts';
import type { Command } from './command.ts';
import { MAX_SEED } from '../util/rng.ts';
import { progressBar } from './progress.ts';

function explainOptions(y: Argv) {
  return y
    .option('backbone', { alias: 'b', type: 'string', describe: 'backbones, comma-separated (one row each) [default: the backbone of --run]' })
    .option('card', { type: 'string', describe: 'card JSON for a --backbone given as a model.onnx path (see configs/cards/)' })
    .option('image', { type: 'string', array: true, describe: 'image files to explain (several after one --image)' })
    .option('text', { type: 'string', array: true, describe: 'prompts for relevance on CLIP (one column each): --text "a photo of a pond" "sushi rolls"' })
    .option('method', { type: 'string', choices: EXPLAINER_NAMES, describe: 'rollout (ViT attention), relevance (Chefer et al., CLIP prompts or classes), gradcam (ConvNets, a class of a trained head) [default: gradcam for ConvNets, relevance with --text, else rollout]' })
    .option('run', { type: 'string', describe: 'a `reprobe finetune` run folder (results/runs/<id>): Grad-CAM explains what that fine-tuned model learned' })
    .option('class', { type: 'string', array: true, describe: "classes to explain (one column each): names of the run's classes, or indexes of the model's own classifier [default with --run: the predicted class]" })
    .option('layer', { type: 'string', describe: 'gradcam: the layer explained [default: the last convolutional block before the tap]' })
    .option('start-layer', { type: 'number', default: RELEVANCE_DEFAULTS.startLayer, describe: "relevance: the first attention block that adds to the map; negative counts from the end (-1, the last block alone, as Chefer et al.'s CLIP code; 0, every block, as their ViT code)" })
    .option('head-fusion', { choices: HEAD_FUSIONS, default: ROLLOUT_DEFAULTS.headFusion, describe: "rollout: fuse the heads' attention by their mean (Abnar & Zuidema), max or min" })
    .option('discard-ratio', { type: 'number', default: ROLLOUT_DEFAULTS.discardRatio, describe: "rollout: the fraction of each block's lowest fused attention values set to 0 (0 keeps all)" })
    .option('out', { type: 'string', default: EXPLAIN_DEFAULTS.out, describe: 'folder for the overlay PNGs and index.html' })
    .option('dataset', { alias: 'd', type: 'string', describe: "also explain --n test images of this dataset, seeded (a run's own test images when --run is of it)" })
    .option('n', { type: 'number', default: EXPLAIN_DEFAULTS.n, describe: 'how many dataset images (--dataset, --from)' })
    .option('from', { type: 'string', describe: 'a results folder: explain test images of the most confused pairs its records list (--top-pairs)' })
    .option('seed', { type: 'number', default: EXPLAIN_DEFAULTS.seed, describe: 'seeds the pick of dataset images' })
    .option('data-root', { type: 'string', describe: 'folder holding the datasets [default: $REPROBE_DATA or ./data]' })
    .option('tokenizer', { type: 'string', describe: "folder with the text tower's vocab.json and merges.txt [default: the card's, from the hub cache]" })
    .epilog(
      'Writes one overlay PNG per (image, backbone, prompt or class, method) into --out: the image as the backbone saw it, the map ' +
        'normalised to [0, 1] in jet colours blended half and half, and a colour bar. index.html (self-contained) shows, per image, the ' +
        'grid backbones x prompts. rollout and relevance serve ViT-family ONNX cards; gradcam the Keras ConvNets, for the classes of a ' +
        'fine-tuned run or (--class N) of their own classifier.',
    )
    .example('$0 explain --run results/runs/<id> --image ../shared/data/ucmerced/Images/airplane/airplane00.jpg', 'Grad-CAM of a fine-tuned MobileNetV2: where it looks for the class it predicts')
    .example('$0 explain --run results/runs/<id> --image a.jpg --class airplane runway', 'the same image explained for two of the run\'s classes')
    .example('$0 explain --run results/runs/<id> -d ucmerced --data-root ../shared/data --n 16', "16 of the run's test images, seeded")
    .example('$0 explain -b clip-vit-b32 --image pond.jpg ducks.jpg --text "a photo of a pond" "a photo of a pair of elephants"', 'CLIP relevance: a column per prompt, a table per image')
    .example('$0 explain -b dino-vits16,vit-b16 --image pond.jpg --method rollout', 'attention rollout, a row per backbone');
}

const list = (v: unknown) => [v ?? []].flat().map(String);

async function explain(argv: Record<string, unknown>): Promise<void> {
  const n = argv.n as number;
  if (!Number.isInteger(n) || n < 1) throw new ConfigError(`--n ${n}: give a whole number ≥ 1.`);
  const seed = argv.seed as number;
  if (!Number.isInteger(seed) || seed < 0 || seed > MAX_SEED) throw new ConfigError(`--seed ${seed}: give a whole number from 0 to ${MAX_SEED}.`);
  const bar = progressBar('explain', { unit: 'images', scale: 1 });
  const { overlays, page } = await runExplain(
    {
      backbones: list(argv.backbone).flatMap((b) => b.split(',')).filter(Boolean),
      images: list(argv.image),
      texts: list(argv.text),
      classes: list(argv.class),
      method: argv.method as string | undefined,
      card: argv.card as string | undefined,
      run: argv.run as string | undefined,
      layer: argv.layer as string | undefined,
      startLayer: argv.startLayer as number,
      headFusion: argv.headFusion as RolloutOptions['headFusion'],
      discardRatio: argv.discardRatio as number,
      out: argv.out as string,
      dataset: argv.dataset as string | undefined,
      from: argv.from as string | undefined,
      n,
      seed,
      dataRoot: argv.dataRoot as string | undefined,
      tokenizerDir: argv.tokenizer as string | undefined,
    },
    { onProgress: (done, total) => bar.update(done, total) },
  );
  bar.stop();
  // Paths echo --out as typed: an escape sequence in it is shown, not sent to the terminal.
  const lines = [`${overlays.length} overlay${overlays.length === 1 ? '' : 's'} in ${String(argv.out)}`, ...overlays.map((o) => `  ${o}`), `page: ${page}`];
  process.stdout.write(lines.map(printable).join('\n') + '\n');
}

export const explainCommand: Command = {
  name: 'explain',
  register: (y) => y.command('explain', 'where a backbone looks: attention rollout, CLIP relevance, or Grad-CAM of a fine-tuned run, as overlays and one page', explainOptions, explain),
};
