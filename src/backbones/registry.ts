import { existsSync, statSync } from 'node:fs';
import { ConfigError, unknownName } from '../errors.ts';
import { loadCardFile } from './card-file.ts';
import { CARDS, findCard } from './cards/index.ts';
import { findCached, hubFiles, pullFile, type HubFile, type PullOptions } from './hub.ts';
import { openKerasBackbone } from './keras-backbone.ts';
import { openOnnxBackbone } from './onnx-backbone.ts';
import type { Device } from '../runtime/ort.ts';
import { isKerasCard, type Backbone, type Card, type OnnxCard } from './types.ts';

export interface OpenOptions {
  /** Keras backbones: feature layer; default the card's tap. */
  layer?: string;
  /** Keras backbones: the layer's whole activation map (NHWC, flattened) instead of its global average. */
  unpooled?: boolean;
  /** `auto`: onnxruntime (Keras models on a converted graph, tfjs if conversion fails). */
  runtime: 'auto' | 'onnx' | 'tfjs';
  threads?: number;
  device?: Device;
  /** Fail instead of falling back to the CPU when `device` cannot be used (`--strict`). */
  strict?: boolean;
  /** Card file for a backbone given as a path to an .onnx file. */
  card?: string;
  /** Download progress when a hub model is fetched on first use. */
  onDownload?: (file: string, bytes: number, total: number | undefined) => void;
}

function backboneNames(): string[] {
  return CARDS.map((c) => c.id);
}

const looksLikeFile = (name: string) => /\.onnx$/i.test(name) || name.includes('/') || name.includes('\\');

/** Card by the name users type (or alias); one clear error listing the known names otherwise. */
export function resolveCard(name: string): Card {
  const card = findCard(name);
  if (!card) throw new ConfigError(unknownName('backbone', name, backboneNames(), 'Run `reprobe models list`, or pass a model file: --backbone model.onnx --card card.json.'));
  return card;
}

/** Whether a --backbone value names a model file rather than a registered backbone. */
export const isModelPath = looksLikeFile;

/** A named card, or the card file for a model path (`--backbone model.onnx --card card.json`). */
async function loadCard(name: string, cardPath?: string): Promise<Card> {
  if (!looksLikeFile(name)) return resolveCard(name);
  if (!cardPath) throw new ConfigError(`--backbone ${name} is a model file: give its card with --card card.json (example: configs/cards/mobilenetv2-12-int8.json).`);
  const st = statSync(name, { throwIfNoEntry: false });
  if (!st) throw new ConfigError(`Model file "${name}" does not exist.`);
  if (st.isDirectory()) throw new ConfigError(`--backbone ${name} is a folder; give the path of an .onnx file.`);
  if (st.size === 0) throw new ConfigError(`Model file "${name}" is empty (0 bytes); re-export or re-download it.`);
  return loadCardFile(cardPath, name);
}

/** Is the card's model file here without a download? Embedded ones always are. */
export function isCached(card: Card): boolean {
  if (card.source.kind === 'nsfwjs') return true;
  if (card.source.kind === 'file') return existsSync(card.source.path);
  return cardHubFiles(card).every((f) => findCached(f) !== undefined);
}

/** The hub files of a card by role: the image tower, and the text tower and its tokenizer files when the card has them. */
function hubFilesByRole(card: Card): [keyof ModelFiles, HubFile][] {
  if (card.source.kind !== 'hub') return [];
  const text = isKerasCard(card) ? undefined : card.text;
  const [image, tower] = hubFiles(card.source, text?.file);
  const out: [keyof ModelFiles, HubFile][] = [['image', image]];
  if (tower) out.push(['text', tower]);
  if (tower && text?.tokenizer) out.push(['vocab', { ...image, file: text.tokenizer.vocab }], ['merges', { ...image, file: text.tokenizer.merges }]);
  return out;
}

/** The hub files of a card: its image tower, its text tower and tokenizer files when it has them; none for embedded or local models. */
export function cardHubFiles(card: Card): HubFile[] {
  return hubFilesByRole(card).map(([, f]) => f);
}

export interface ModelFiles {
  image: string;
  text?: string;
  /** The text tower's tokenizer files (Hugging Face vocab.json and merges.txt). */
  vocab?: string;
  merges?: string;
}

/** Every file of a hub card, from the caches or downloaded (with progress); local paths of the towers and tokenizer files. */
export async function fetchModel(card: OnnxCard, onProgress?: (file: string, bytes: number, total: number | undefined) => void): Promise<ModelFiles> {
  if (card.source.kind !== 'hub') return { image: card.source.path };
  const files: ModelFiles = { image: '' }; // the first role: every hub card has an image tower
  for (const [role, f] of hubFilesByRole(card)) {
    const opt: PullOptions = { name: card.id, exportHint: card.source.exportHint, onProgress: onProgress && ((b, t) => onProgress(f.file, b, t)) };
    files[role] = await pullFile(f, opt);
  }
  return files;
}

/** A backbone whose card is loaded and whose files are here (fetched from the hub once, up front). */
export interface ResolvedBackbone {
  /**
   * The card's id for a named backbone, whatever alias was typed (`dino` → `dino-vits16`): records, store files, run
   * folders and report rows are keyed on it, so one model is one row. A model file: its path as given.
   */
  name: string;
  card: Card;
  /** Local files of an ONNX card. */
  files?: ModelFiles;
}

/** Name (or model file + card) → card and local files; fails on a bad name, card or missing model before any slow work. */
export async function resolveBackbone(name: string, opt: Pick<OpenOptions, 'card' | 'onDownload'> = {}): Promise<ResolvedBackbone> {
  const card = await loadCard(name, opt.card);
  const id = looksLikeFile(name) ? name : card.id;
  return isKerasCard(card) ? { name: id, card } : { name: id, card, files: await fetchModel(card, opt.onDownload) };
}

/** A resolved backbone → ready to embed, on the best runtime. */
export async function openResolved(r: ResolvedBackbone, opt: OpenOptions): Promise<Backbone> {
  const { card } = r;
  if (isKerasCard(card)) return openKerasBackbone(card, opt);
  if (opt.runtime === 'tfjs') throw new ConfigError(`${card.id} is an ONNX model; it runs on onnxruntime only (drop --runtime tfjs).`);
  if (opt.layer) throw new ConfigError(`--layer picks a layer of the Keras backbones; for ${card.id} set output.name in a card file instead.`);
  const path = r.files?.image ?? (await fetchModel(card, opt.onDownload)).image;
  return openOnnxBackbone(card, path, { threads: opt.threads, device: opt.device, strict: opt.strict });
}

/** Name (or model file + card) → ready backbone on the best runtime. */
export async function openBackbone(name: string, opt: OpenOptions): Promise<Backbone> {
  return openResolved(await resolveBackbone(name, opt), opt);
}
