import { Worker } from 'node:worker_threads';

const TSX_API = import.meta.resolve('tsx/esm/api');

/**
 * A thread running one of this folder's TypeScript entries: the app runs through tsx, whose loader
 * each new thread registers for itself (as the worker thread does).
 */
export function spawnThread(entry: URL, workerData: unknown, memoryMb = 512): Worker {
  const bootstrap = `import(${JSON.stringify(TSX_API)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry.href)}); })`;
  return new Worker(bootstrap, { eval: true, workerData, resourceLimits: { maxOldGenerationSizeMb: memoryMb } });
}
