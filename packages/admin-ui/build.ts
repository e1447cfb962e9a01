/**
 * Builds the admin console into dist/ with Vite when its sources are newer than the build (or with
 * --force). The app serves dist/ at /admin; `pnpm start` and the browser test call this first.
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = dirname(fileURLToPath(import.meta.url));
export const ADMIN_UI_DIST = join(root, 'dist');

function newest(dir: string): number {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

/** Whether dist/ is older than a source (or missing). */
export function adminUiStale(): boolean {
  const index = join(ADMIN_UI_DIST, 'index.html');
  const sources = Math.max(newest(join(root, 'src')), statSync(join(root, 'index.html')).mtimeMs, statSync(join(root, 'build.ts')).mtimeMs);
  return !existsSync(index) || statSync(index).mtimeMs < sources;
}

async function buildHere(): Promise<void> {
  const { build } = await import('vite');
  await build({
    root,
    base: '/admin/',
    logLevel: 'warn',
    configFile: false,
    build: {
      outDir: ADMIN_UI_DIST,
      emptyOutDir: true,
      // everything from files (a strict Content-Security-Policy allows no inline scripts or data: URLs)
      assetsInlineLimit: 0,
      modulePreload: { polyfill: false },
      chunkSizeWarningLimit: 4000,
    },
  });
}

/**
 * Builds dist/ unless it is newer than every source; returns whether it built. The build runs in a
 * process of its own: Vite and Rollup need several hundred MB for a moment, more than the small heap
 * the server runs with (`pnpm start` caps it at 192 MB), and none of it should stay in the server.
 */
export async function ensureAdminUi(force = false): Promise<boolean> {
  if (!force && !adminUiStale()) return false;
  const self = fileURLToPath(import.meta.url);
  // run from its TypeScript source (pnpm start, the tests): with tsx's loader, found from here
  const flags = self.endsWith('.ts') ? ['--import', pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href] : [];
  await new Promise<void>((resolve, reject) => {
    const child = spawn(process.execPath, [...flags, self, '--force'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => {
      err = (err + d.toString()).slice(-4000);
    });
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`the admin console build exited ${code}: ${err.trim()}`))));
  });
  return true;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const force = process.argv.includes('--force');
  const built = force || adminUiStale();
  if (built) await buildHere();
  process.stdout.write(built ? `admin console built into ${ADMIN_UI_DIST}\n` : 'admin console is up to date\n');
}
