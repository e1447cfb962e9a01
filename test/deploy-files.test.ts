/**
 * The Dockerfile and compose.yaml hold to the repository (Docker itself is not needed): the files
 * and scripts they name exist, the image runs the compiled entry points `pnpm build` writes, as a
 * non-root user, with production dependencies only; compose runs two instances against one
 * PostgreSQL and one Redis, migrating once first, with an environment the app's configuration
 * accepts and the README documents.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { configSchema, loadConfig } from '@signalbox/app';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const read = (p: string) => readFileSync(join(ROOT, p), 'utf8');
const json = (p: string) => JSON.parse(read(p)) as Record<string, unknown>;
/** Read by the shared limits (issue 17 §1, branch issue-17-limits); compose sets it ahead of them. */
const AHEAD_OF_CONFIG = ['REDIS_URL'];

/** The Dockerfile's stages: name and instructions (continuation lines joined). */
function stages(): Array<{ name: string; from: string; lines: string[] }> {
  const lines = read('Dockerfile')
    .replace(/\\\n\s*/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
  const out: Array<{ name: string; from: string; lines: string[] }> = [];
  for (const l of lines) {
    const from = /^FROM\s+(\S+)(?:\s+AS\s+(\S+))?/i.exec(l);
    if (from) out.push({ from: from[1] as string, name: from[2] ?? '', lines: [] });
    else out.at(-1)?.lines.push(l);
  }
  return out;
}

/** A compiled entry point (relative to the app's dist/) comes from a source file `pnpm build` compiles. */
function compiledFrom(entry: string): string {
  const build = json('packages/app/tsconfig.build.json') as { compilerOptions: { rootDir: string; outDir: string } };
  expect(entry.startsWith(`${build.compilerOptions.outDir}/`)).toBe(true);
  return join('packages/app', build.compilerOptions.rootDir, entry.slice(build.compilerOptions.outDir.length + 1).replace(/\.js$/, '.ts'));
}

describe('Dockerfile', () => {
  const [build, runtime, ...more] = stages();

  it('has two stages: build (better-sqlite3 compiled there, pnpm build, pnpm deploy --prod) and runtime', () => {
    expect(more).toEqual([]);
    expect(build?.name).toBe('build');
    expect(runtime?.name).toBe('runtime');
    const b = build?.lines.join('\n') ?? '';
    expect(b).toMatch(/apt-get install .*python3 .*make .*g\+\+/);
    expect(b).toMatch(/^RUN pnpm install --offline --frozen-lockfile/m);
    expect(b).toMatch(/^RUN pnpm build$/m);
    expect(b).toMatch(/^RUN pnpm --filter @signalbox\/app deploy --prod --legacy \/deploy$/m);
    // what it copies before the install exists here
    for (const l of build?.lines ?? []) {
      const copy = /^COPY\s+(?!--from)(.+)\s+\S+$/.exec(l);
      if (copy) for (const f of (copy[1] as string).split(/\s+/).filter((f) => f !== '.')) expect(existsSync(join(ROOT, f)), f).toBe(true);
    }
    const root = json('package.json') as { scripts: Record<string, string>; engines: { node: string } };
    expect(root.scripts.build).toContain('tsc -b tsconfig.build.json');
    expect(root.scripts.build).toContain('@signalbox/admin-ui build');
  });

  it('runtime: only the deployed app, as the non-root node user, running the compiled entry points with plain node', () => {
    const r = runtime?.lines ?? [];
    expect(r.filter((l) => l.startsWith('COPY'))).toEqual(['COPY --from=build --chown=node:node /deploy /app']);
    expect(r.filter((l) => l.startsWith('USER'))).toEqual(['USER node']);
    expect(r.indexOf('USER node')).toBeLessThan(r.findIndex((l) => l.startsWith('CMD')));
    expect(r.join('\n')).not.toMatch(/tsx/);
    const cmd = JSON.parse((r.find((l) => l.startsWith('CMD')) ?? '').slice(4)) as string[];
    expect(cmd[0]).toBe('node');
    expect(existsSync(join(ROOT, compiledFrom(cmd.at(-1) as string)))).toBe(true);
    // the compiled condition the packages' exports resolve to dist/ under
    const condition = /NODE_OPTIONS=--conditions=(\S+)/.exec(r.join('\n'))?.[1];
    expect(condition).toBe('signalbox-compiled');
    for (const p of ['engine', 'connectors', 'app']) {
      const exports = json(`packages/${p}/package.json`).exports as Record<string, Record<string, string>>;
      const target = exports['.']?.[condition as string] as string;
      expect(target, p).toMatch(/^\.\/dist\/.*\.js$/);
      // and it is in what `pnpm deploy` copies
      const files = json(`packages/${p}/package.json`).files as string[];
      expect(
        files.some((f) => target.slice(2).startsWith(`${f}/`)),
        p,
      ).toBe(true);
    }
    // the image's node is one the packages allow
    const image = /ARG NODE_IMAGE=node:(\d+)\.(\d+)/.exec(read('Dockerfile'));
    expect([Number(image?.[1]), Number(image?.[2])]).toEqual([20, 19]);
    expect((json('package.json').engines as { node: string }).node).toBe('>=20.19');
    // tsx is no production dependency of the app
    expect(Object.keys(json('packages/app/package.json').dependencies as object)).not.toContain('tsx');
  });
});

describe('compose.yaml', () => {
  const sample = {
    POSTGRES_PASSWORD: 'pw-0123456789',
    SIGNALBOX_API_KEYS: 'ops:admin:0123456789abcdefghijklmnop',
    SANDBOX_SECRET: 'sandbox-secret-0123456789abcdef',
    SESSION_SECRET: 'session-secret-0123456789abcdef0123456789',
  };
  // compose's interpolation of ${NAME:?message} / ${NAME:-default} with the sample environment
  const text = read('compose.yaml').replace(/\$\{(\w+)(?::[?-][^}]*)?\}/g, (_, name: string) => sample[name as keyof typeof sample] ?? '');
  const doc = parse(text, { merge: true }) as {
    services: Record<
      string,
      {
        image?: string;
        build?: string;
        command?: string[];
        environment?: Record<string, string>;
        depends_on?: Record<string, { condition: string }>;
        ports?: string[];
        stop_grace_period?: string;
      }
    >;
  };
  const apps = Object.entries(doc.services).filter(([, s]) => s.environment?.INSTANCE_ID !== undefined);

  it('two app instances from the image built here, PostgreSQL, Redis and a migration run before the instances', () => {
    expect(Object.keys(doc.services).sort()).toEqual(['app-1', 'app-2', 'migrate', 'postgres', 'redis']);
    expect(apps.map(([, s]) => s.environment?.INSTANCE_ID)).toEqual(['app-1', 'app-2']);
    for (const [, s] of apps) {
      expect(s).toMatchObject({ build: '.', image: 'signalbox:local' });
      expect(s.depends_on).toEqual({ migrate: { condition: 'service_completed_successfully' }, redis: { condition: 'service_healthy' } });
      expect(s.environment?.DATABASE_URL).toMatch(/^postgres:\/\/signalbox:[^@]+@postgres:5432\/signalbox$/);
      expect(s.environment?.REDIS_URL).toBe('redis://redis:6379');
      expect(s.environment?.MIGRATE_ON_START).toBe('off');
      // a clean exit needs longer than Docker's default 10 s when a request is still arriving (30 s)
      expect(Number.parseInt(s.stop_grace_period ?? '10s', 10)).toBeGreaterThan(30);
    }
    expect(new Set(apps.map(([, s]) => s.ports?.[0]?.split(':')[0])).size).toBe(2);
    const migrate = doc.services.migrate;
    expect(migrate?.image).toBe('signalbox:local');
    expect(existsSync(join(ROOT, compiledFrom(migrate?.command?.at(-1) as string)))).toBe(true);
    expect(migrate?.depends_on).toEqual({ postgres: { condition: 'service_healthy' } });
  });

  it("every instance's environment is one the app's configuration accepts, and the README documents it", () => {
    const readme = read('README.md');
    for (const [name, s] of [...apps, ['migrate', doc.services.migrate] as const]) {
      const env = s?.environment ?? {};
      const unknown = Object.keys(env).filter((k) => !(k in configSchema.shape) && !AHEAD_OF_CONFIG.includes(k));
      expect(unknown, name).toEqual([]);
      expect(() => loadConfig(env), name).not.toThrow();
      for (const k of Object.keys(env)) expect(readme, `README documents ${k}`).toContain(`\`${k}\``);
    }
  });
});
