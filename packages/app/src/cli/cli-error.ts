/** A CLI failure with its exit code (1: invalid input, 2: usage, unreadable file or missing database). */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: 1 | 2,
  ) {
    super(message);
  }
}
