/** Work the worker does now and then rather than every round (sweeps, CRM write-back and sync). */
export interface Chore {
  name: string;
  everyMs: number;
  /** Runs it once; how much it did. */
  run(): Promise<number>;
}
