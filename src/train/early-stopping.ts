/** Early stopping on validation loss, as PyTorch Lightning's EarlyStopping(mode='min', min_delta=0). */
export interface StopState {
  /** Epoch (1-based) of the lowest validation loss so far; 0 before the first. */
  bestEpoch: number;
  bestLoss: number;
}

export const START: StopState = { bestEpoch: 0, bestLoss: Infinity };

/**
 * One epoch's validation loss → the new state, whether it improved (strictly lower), and whether to stop: after
 * `patience` epochs in a row without improvement, i.e. at exactly bestEpoch + patience.
 */
export function observe(s: StopState, epoch: number, loss: number, patience: number): { state: StopState; improved: boolean; stop: boolean } {
  const improved = loss < s.bestLoss;
  const state = improved ? { bestEpoch: epoch, bestLoss: loss } : s;
  return { state, improved, stop: epoch - state.bestEpoch >= patience };
}
