/** A CLI failure with its exit code (1: invalid input, 2: usage, unreadable file or missing database). */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: 1 | 2,
    /** Whether the usage text helps (a wrong command line), or only the message does. */
    readonly showUsage = exitCode === 2,
  ) {
    super(message);
  }
}
