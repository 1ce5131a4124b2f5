import { sharp } from './sharp.ts';
import type { TopLevelSpec } from 'vega-lite';

/** A Vega-Lite spec rendered on the server: SVG by vega (no browser, no canvas), PNG rasterised from it by sharp. */
export async function renderVegaLite(spec: TopLevelSpec): Promise<{ svg: string; png: Buffer }> {
  // Imported here: their modules' top levels (d3's scales and colours) would run at every start of the CLI's bundle.
  const [vega, { compile }] = await Promise.all([import('vega'), import('vega-lite')]);
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  try {
    // Names from users' folders reach labels and legends: vega escapes < and &, not the control characters XML 1.0
    // forbids (a BEL in a class name made librsvg refuse the whole plot), so those are shown as \uXXXX, as elsewhere.
    // eslint-disable-next-line no-control-regex
    const svg = (await view.toSVG()).replace(/[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
    return { svg, png: await sharp(Buffer.from(svg)).png().toBuffer() };
  } finally {
    view.finalize();
  }
}
