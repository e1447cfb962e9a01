import type { Worker } from 'node:worker_threads';
import { startThread } from '../threads.js';

/** A thread running one of this folder's entries (`./dry-run-thread`, `./helper-thread`). */
export function spawnThread(name: string, workerData: unknown, memoryMb = 512): Worker {
  return startThread(import.meta.url, name, { workerData, resourceLimits: { maxOldGenerationSizeMb: memoryMb } });
}
