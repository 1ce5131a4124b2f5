import { homedir } from 'node:os';
import { join } from 'node:path';

/** Cache root: $REPROBE_HOME, else ~/.cache/reprobe. */
export function reprobeHome(): string {
  return process.env.REPROBE_HOME || join(homedir(), '.cache', 'reprobe');
}
