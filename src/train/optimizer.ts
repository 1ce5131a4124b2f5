import * as tf from '@tensorflow/tfjs';
import { TrainingError } from '../errors.ts';

export const OPTIMIZERS = ['adam', 'adamw', 'sgd'] as const;

export interface OptimizerSettings {
  name: (typeof OPTIMIZERS)[number];
  lr: number;
  weightDecay: number;
}

/**
 * PyTorch's update rules, written out so that their whole state is ours to checkpoint: Adam (eps 1e-8, weight decay
 * as L2 on the gradient), AdamW (decoupled decay) and SGD with momentum 0.9 (L2 on the gradient).
 */
export class Optimizer {
  private step = 0;
  private readonly slots: tf.Variable[][];

  constructor(
    readonly settings: OptimizerSettings,
    private readonly vars: readonly tf.Variable[],
  ) {
    const count = settings.name === 'sgd' ? 1 : 2;
    this.slots = vars.map((v) => Array.from({ length: count }, () => zeroVariable(v)));
  }

  apply(grads: readonly (tf.Tensor | undefined)[]): void {
    const { name, lr, weightDecay: wd } = this.settings;
    const missing = grads.findIndex((g) => g === undefined);
    if (missing >= 0) throw new TrainingError(`Variable "${this.vars[missing].name}" gets no gradient from the loss: it is listed as trained but the outputs do not depend on it.`);
    this.step += 1;
    const t = this.step;
    tf.tidy(() => {
      this.vars.forEach((w, i) => {
        let g = grads[i]!;
        if (wd > 0 && name !== 'adamw') g = g.add(w.mul(wd));
        if (name === 'sgd') {
          const [buf] = this.slots[i];
          buf.assign(t === 1 ? g : buf.mul(0.9).add(g));
          w.assign(w.sub(buf.mul(lr)));
          return;
        }
        const [m, v] = this.slots[i];
        m.assign(m.mul(0.9).add(g.mul(0.1)));
        v.assign(v.mul(0.999).add(g.square().mul(0.001)));
        const mHat = m.div(1 - 0.9 ** t);
        const vHat = v.div(1 - 0.999 ** t);
        const base = name === 'adamw' && wd > 0 ? w.mul(1 - lr * wd) : w;
        w.assign(base.sub(mHat.div(vHat.sqrt().add(1e-8)).mul(lr)));
      });
    });
  }

  /** Step count and slot tensors, in a fixed order (for checkpoints). */
  state(): { step: number; tensors: tf.Tensor[] } {
    return { step: this.step, tensors: this.slots.flat() };
  }

  restore(step: number, tensors: readonly tf.Tensor[]): void {
    const flat = this.slots.flat();
    if (tensors.length !== flat.length) throw new TrainingError(`The checkpoint's optimizer state holds ${tensors.length} tensors, the model needs ${flat.length}; run without --resume.`);
    flat.forEach((s, i) => s.assign(tensors[i]));
    this.step = step;
  }

  dispose(): void {
    for (const s of this.slots.flat()) s.dispose();
  }
}

/** A zero tensor shaped like v, as a non-trainable variable (the temporary zeros freed). */
function zeroVariable(v: tf.Tensor): tf.Variable {
  const z = tf.zerosLike(v);
  const out = tf.variable(z, false);
  z.dispose();
  return out;
}
