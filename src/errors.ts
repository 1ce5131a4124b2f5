/** Errors a user can fix: the CLI prints `reprobe: <message>` on one line and exits 2. */
export class ReprobeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}
/** Bad flags, configs or names. */
export class ConfigError extends ReprobeError {}
/** Missing, unreadable or too small datasets. */
export class DataError extends ReprobeError {}
/** Models that cannot be found, converted or run. */
export class BackboneError extends ReprobeError {}
/** Probe inputs that would give a silently wrong number (NaN features, empty classes). */
export class ProbeError extends ReprobeError {}
/** Training that cannot go on (a loss that diverged, a checkpoint of another model, a kernel a backend lacks). */
export class TrainingError extends ReprobeError {}

/** `Unknown backbone "x". Known: a, b. <hint>` */
export function unknownName(kind: string, name: string, known: readonly string[], hint = ''): string {
  return `Unknown ${kind} "${name}". Known: ${known.join(', ')}.${hint ? ' ' + hint : ''}`;
}

/** The first line of an error's message (or of whatever was thrown): native libraries append multi-line details. */
export function firstLine(err: unknown): string {
  // A message cut at its line break may end in the colon that introduced the details.
  return String((err as Error)?.message ?? err).split('\n')[0].replace(/:\s*$/, '');
}

/**
 * A file-system failure (an error with a code: EACCES, ENOSPC, ENOTDIR, ...) as one line a user can act on: `what` is
 * what could not be done, `fix` what to do. Anything else is returned as it is (a bug, not the user's to fix).
 */
export function fsError(err: unknown, what: string, fix: string): unknown {
  const code = (err as { code?: string }).code;
  if (!code || err instanceof ReprobeError) return err;
  const why = { ENOSPC: 'disk full', EACCES: 'permission denied', EISDIR: 'it is a folder', EROFS: 'read-only file system' }[code];
  return new ReprobeError(`${what} (${code}${why ? `: ${why}` : ''}). ${fix}`);
}
