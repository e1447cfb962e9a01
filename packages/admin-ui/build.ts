/**
 * Builds the admin console into dist/ with Vite when its sources are newer than the build (or with
 * --force). The app serves dist/ at /admin; `pnpm start` and the browser test call this first.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

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

/** Builds dist/ unless it is newer than every source; returns whether it built. */
export async function ensureAdminUi(force = false): Promise<boolean> {
  const index = join(ADMIN_UI_DIST, 'index.html');
  const sources = Math.max(newest(join(root, 'src')), statSync(join(root, 'index.html')).mtimeMs, statSync(join(root, 'build.ts')).mtimeMs);
  if (!force && existsSync(index) && statSync(index).mtimeMs >= sources) return false;
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
  return true;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const built = await ensureAdminUi(process.argv.includes('--force'));
  process.stdout.write(built ? `admin console built into ${ADMIN_UI_DIST}\n` : 'admin console is up to date\n');
}
