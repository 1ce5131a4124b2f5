import sharp from 'sharp';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

/** A Vega-Lite spec rendered on the server: SVG by vega (no browser, no canvas), PNG rasterised from it by sharp. */
export async function renderVegaLite(spec: TopLevelSpec): Promise<{ svg: string; png: Buffer }> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  try {
    const svg = await view.toSVG();
    return { svg, png: await sharp(Buffer.from(svg)).png().toBuffer() };
  } finally {
    view.finalize();
  }
}
