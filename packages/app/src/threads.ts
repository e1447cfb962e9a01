import { Worker, type WorkerOptions } from 'node:worker_threads';

/**
 * Whether this process runs the TypeScript sources (through tsx: `pnpm start`, tests) or the
 * compiled JavaScript (`pnpm build`, then `pnpm start:prod` or the Docker image).
 */
export const FROM_SOURCE = import.meta.url.endsWith('.ts');

/**
 * A thread running one of the app's modules, named without its extension relative to `base`
 * (the caller's `import.meta.url`). Compiled, the thread loads the module's JavaScript itself; from
 * the sources it first registers tsx's loader, which each new thread must do for itself.
 */
export function startThread(base: string, name: string, options: WorkerOptions): Worker {
  const entry = new URL(`${name}${FROM_SOURCE ? '.ts' : '.js'}`, base);
  if (!FROM_SOURCE) return new Worker(entry, options);
  const tsx = import.meta.resolve('tsx/esm/api');
  const bootstrap = `import(${JSON.stringify(tsx)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry.href)}); })`;
  return new Worker(bootstrap, { ...options, eval: true });
}
