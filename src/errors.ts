/**
 * Errors a user can fix: the CLI prints `reprobe: <message>` on one line and exits 2. `where` names the file, flag or
 * record at fault; it leads the line (`<where>: <message>`).
 */
export class ReprobeError extends Error {
  readonly where?: string;
  constructor(message: string, where?: string) {
    super(where ? `${where}: ${message}` : message);
    this.name = new.target.name;
    this.where = where;
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

/** What a user can do about a file-system error code, and its name in words. */
const FS_CODES: Record<string, { why: string; fix: string }> = {
  ENOSPC: { why: 'disk full', fix: 'Free disk space or pass another folder.' },
  EDQUOT: { why: 'disk quota exceeded', fix: 'Free disk space or pass another folder.' },
  EACCES: { why: 'permission denied', fix: 'Make it readable/writable, or pass another path.' },
  EPERM: { why: 'operation not permitted', fix: 'Make it writable, or pass another path.' },
  EROFS: { why: 'read-only file system', fix: 'Pass a folder on a writable file system.' },
  EISDIR: { why: 'it is a folder', fix: 'Pass a file.' },
  ENOTDIR: { why: 'a part of the path is not a folder', fix: 'Check the path.' },
  ENOENT: { why: 'no such file or folder', fix: 'Check the path.' },
  EEXIST: { why: 'it already exists', fix: 'Remove or rename what is there, or pass another path.' },
  ENOTEMPTY: { why: 'the folder is not empty', fix: 'Empty or remove the folder, or pass another path.' },
  ELOOP: { why: 'too many symbolic links', fix: 'Check the links in the path (one may point to itself).' },
  EBUSY: { why: 'busy', fix: 'Close what uses it, then retry.' },
  ESTALE: { why: 'stale file handle (a network file system)', fix: 'Retry; check the network file system.' },
  EXDEV: { why: 'across file systems', fix: 'Keep the output on the same file system as its folder.' },
  ENAMETOOLONG: { why: 'name too long', fix: 'Use a shorter path or name.' },
  EMFILE: { why: 'too many open files', fix: 'Raise the open-file limit (ulimit -n).' },
  EIO: { why: 'input/output error', fix: 'Check the disk.' },
};

/**
 * A file-system error of Node (a system error with a code and a path) as a user's error naming the path: the CLI's last
 * resort, so that a full disk or a read-only folder is never an `internal error`. Undefined for anything else.
 */
export function systemError(err: unknown): ReprobeError | undefined {
  if (err instanceof ReprobeError || !(err instanceof Error)) return undefined;
  const { code, path, dest, syscall } = err as { code?: unknown; path?: unknown; dest?: unknown; syscall?: unknown };
  const known = typeof code === 'string' ? FS_CODES[code] : undefined;
  if (!known || typeof path !== 'string') return undefined;
  // A rename (the atomic writer's last step) fails for its destination: the file the user named, not the temp file.
  if (syscall === 'rename' && typeof dest === 'string') return new ReprobeError(`cannot write it (${code}: ${known.why}). ${known.fix}`, dest);
  return new ReprobeError(`cannot ${typeof syscall === 'string' ? syscall : 'access'} it (${code}: ${known.why}). ${known.fix}`, path);
}

/** A line for a terminal: control characters (NUL, newlines, escapes) and bidi overrides of echoed values escaped. */
export function printable(line: string): string {
  // eslint-disable-next-line no-control-regex
  return line.replace(/[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g, (c) => {
    const named: Record<string, string> = { '\0': '\\0', '\n': '\\n', '\r': '\\r', '\t': '\\t' };
    return named[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
  });
}

/**
 * A file-system failure (an error with a code: EACCES, ENOSPC, ENOTDIR, ...) as one line a user can act on: `what` is
 * what could not be done; then what to do about this code (free space for ENOSPC, check the path for ENOENT, ...) and
 * `otherwise`, the caller's other way out (another flag). Anything else is returned as it is (a bug, not the user's).
 */
export function fsError(err: unknown, what: string, otherwise: string): unknown {
  const code = (err as { code?: string }).code;
  if (!code || err instanceof ReprobeError) return err;
  const known = FS_CODES[code];
  // `otherwise` reads alone when the code has no fix of its own, and as an alternative after one.
  const alt = known ? ` Or ${otherwise.charAt(0).toLowerCase()}${otherwise.slice(1)}` : ` ${otherwise}`;
  return new ReprobeError(`${what} (${code}${known ? `: ${known.why}` : ''}).${known ? ` ${known.fix}` : ''}${alt}`);
}
