import type { Preprocess } from './types.ts';

/** The preprocessor_config.json keys that decide a transformers image processor's tensor. */
export interface ProcessorConfig {
  size: { height: number; width: number } | { shortest_edge: number };
  resample?: number;
  crop_pct?: number;
  crop_size?: { height: number; width: number } | number;
  do_center_crop?: boolean;
  image_mean: [number, number, number];
  image_std: [number, number, number];
  include_top?: boolean;
  rescale_factor?: number;
}

/** PIL's resampling codes as transformers stores them. */
const RESAMPLE: Record<number, Preprocess['interpolation']> = { 0: 'nearest', 2: 'bilinear', 3: 'bicubic' };

/**
 * A transformers image processor as a reprobe Preprocess and input size: `size` {height, width} resizes to exactly
 * that (no crop); `shortest_edge` with crop_pct resizes the shorter side to int(edge / crop_pct) and crops edge
 * (ConvNeXt); otherwise it resizes to the edge and crops crop_size (CLIP). Processors floor the crop offset.
 * EfficientNet's include_top divides by std a second time, so the std is squared.
 */
export function processorPreprocess(kw: ProcessorConfig): { preprocess: Preprocess; size: number } {
  const interpolation = RESAMPLE[kw.resample ?? 2];
  if (!interpolation) throw new Error(`resample ${kw.resample} is not one reprobe applies (nearest 0, bilinear 2, bicubic 3)`);
  const std = kw.include_top ? (kw.image_std.map((s) => s * s) as [number, number, number]) : kw.image_std;
  const base = { interpolation, scale: kw.rescale_factor ?? 1 / 255, mean: kw.image_mean, std };
  if ('height' in kw.size) return { preprocess: { resize: 'stretch', ...base }, size: kw.size.height };
  const edge = kw.size.shortest_edge;
  const crop = { resize: 'shorter', cropOffset: 'floor', ...base } as const;
  if (kw.crop_pct !== undefined) return { preprocess: { ...crop, resizeTo: Math.trunc(edge / kw.crop_pct) }, size: edge };
  const cropSize = typeof kw.crop_size === 'number' ? kw.crop_size : (kw.crop_size?.height ?? edge);
  return { preprocess: { ...crop, resizeTo: edge }, size: kw.do_center_crop === false ? edge : cropSize };
}
