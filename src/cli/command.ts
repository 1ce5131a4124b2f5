import type { Argv } from 'yargs';

/** A CLI command: it adds itself (flags, examples, handler) to the yargs program. main.ts lists the registry in commands.ts. */
export interface Command {
  name: string;
  register(y: Argv): Argv;
}
