/** A relevance map over the image: row-major [height, width] values normalised to [0, 1] (max 1, min 0 unless constant). */
export interface ExplainMap { height: number; width: number; values: Float32Array }
/** What every explanation method gets: the backbone as resolved by the registry, one image already preprocessed for its card (the card's layout, one batch row), and optionally a text prompt or a class index to explain. */
export interface ExplainInput { backbone: import('../backbones/registry.ts').ResolvedBackbone; pixels: Float32Array; text?: string; classIndex?: number; tokenizerDir?: string }
