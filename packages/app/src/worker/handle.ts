/** What the system needs of a worker, on this thread or in its own. */
export interface WorkerHandle {
  start(): void;
  /** Resolves once the worker is polling (at once for a worker on this thread). */
  whenReady(): Promise<void>;
  /** New work arrived: skip the idle wait. */
  nudge(): void;
  stop(): Promise<void>;
}
