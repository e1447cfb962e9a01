import type { Config } from '../config.js';

/** What a CLI command reads and writes besides its arguments. */
export interface CliIo {
  out: (s: string) => void;
  err: (s: string) => void;
  /** A path given on the command line, resolved from where the command was typed. */
  path: (p: string) => string;
  now: () => Date;
  config: Config;
}
