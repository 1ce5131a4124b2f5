import sharpPackage, { type Sharp, type SharpInput, type SharpOptions } from 'sharp';

let ready = false;

/**
 * sharp as every module calls it, set up on its first call rather than when a module imports it: the CLI's bundle
 * loads sharp (libvips, 0.04 CPU s) only once a command uses it (bin/bundle.mjs, lazyRequireExternal), and a setting
 * made at import would load it at every start.
 */
export function sharp(options?: SharpOptions): Sharp;
export function sharp(input?: SharpInput | SharpInput[], options?: SharpOptions): Sharp;
export function sharp(...args: [SharpInput | SharpInput[] | SharpOptions | undefined, SharpOptions?]): Sharp {
  loadSharp();
  return (sharpPackage as (...a: typeof args) => Sharp)(...args);
}

/**
 * Load and set up sharp on this thread now. A thread that starts a worker which uses sharp must call this first: on
 * glibc Linux the main thread must load sharp before its workers do, or a worker's exit unloads libvips while its
 * threads still run (lovell/sharp#2263, sharp's install notes on worker threads).
 */
export function loadSharp(): void {
  if (ready) return;
  // Batches decode many images at once on libuv's pool; one libvips thread per image avoids oversubscribing the
  // cores that inference needs (measured: 124 → 132 images/s end to end, MobileNetV2 on 2 cores).
  sharpPackage.concurrency(1);
  // Every image is seen once: libvips' operation cache only costs hashing (about 0.1 ms per call).
  sharpPackage.cache(false);
  ready = true;
}

/** The version of sharp that decodes images (a features cache's provenance). */
export const sharpVersion = (): string => sharpPackage.versions.sharp ?? 'unknown';
