/**
 * The production build as it is deployed: `pnpm build` compiles the packages, and the instance runs
 * with plain node on the output (`pnpm start:prod`; no tsx), its worker thread on compiled code too.
 * Its metrics carry its instance label; with OTEL_EXPORTER_OTLP_ENDPOINT set an event is traced
 * from the inbox to the provider call (spans POSTed to a local OTLP/HTTP receiver); without it
 * nothing is traced. What `pnpm deploy --prod` makes of it (the Docker image's /app) runs outside
 * the workspace with production dependencies only.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_RULESET } from '@signalbox/engine';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase, type Instance, KEY, METRICS_KEY, post, rulesetFile, scrape, startInstance, until } from '../support/instances.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  attributes?: Array<{ key: string; value: Record<string, unknown> }>;
}

/** A local OTLP/HTTP traces receiver (JSON, as @opentelemetry/exporter-trace-otlp-http sends). */
async function otlpReceiver(): Promise<{ url: string; spans: OtlpSpan[]; services: Set<string>; server: Server }> {
  const spans: OtlpSpan[] = [];
  const services = new Set<string>();
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => {
      body += c.toString();
    });
    req.on('end', () => {
      if (req.method === 'POST' && req.url === '/v1/traces' && req.headers['content-type']?.startsWith('application/json')) {
        const doc = JSON.parse(body) as {
          resourceSpans: Array<{
            resource: { attributes: Array<{ key: string; value: { stringValue?: string } }> };
            scopeSpans: Array<{ spans: OtlpSpan[] }>;
          }>;
        };
        for (const rs of doc.resourceSpans) {
          const attrs = Object.fromEntries(rs.resource.attributes.map((a) => [a.key, a.value.stringValue]));
          services.add(`${attrs['service.name']}/${attrs['service.instance.id']}`);
          for (const ss of rs.scopeSpans) spans.push(...ss.spans);
        }
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      } else res.writeHead(400).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, spans, services, server };
}

/** A zone where it is early afternoon now, and a ruleset with no quiet hours: the reminder is sent at once. */
function afternoonZone(): string {
  const offset = ((13 - new Date().getUTCHours() + 36) % 24) - 12;
  return offset === 0 ? 'Etc/GMT' : `Etc/GMT${offset > 0 ? '-' : '+'}${Math.abs(offset)}`;
}
function anyTimeRuleset(): string {
  const rs = structuredClone(DEFAULT_RULESET) as Record<string, unknown> & { quietHours: Record<string, unknown> };
  rs.quietHours = { default: { start: '00:00', end: '23:59' } };
  return rulesetFile(rs);
}
const overdue = (tag: string, phone: string) => ({
  id: tag,
  type: 'invoice.overdue',
  occurredAt: new Date().toISOString(),
  contact: { identities: [{ kind: 'phone', value: phone }], timezone: afternoonZone() },
  object: { type: 'invoice', id: `${tag}-inv` },
});

describe('the production build', () => {
  let db: Awaited<ReturnType<typeof freshDatabase>>;
  let otlp: Awaited<ReturnType<typeof otlpReceiver>>;
  const instances: Instance[] = [];
  beforeAll(async () => {
    // `pnpm build` (incremental: quick when the output is up to date)
    execFileSync('pnpm', ['build'], { cwd: ROOT, stdio: 'pipe' });
    db = await freshDatabase();
    otlp = await otlpReceiver();
  }, 600_000);
  afterAll(async () => {
    for (const i of instances) i.child.kill('SIGKILL');
    await Promise.all(instances.map((i) => i.exited));
    otlp?.server.close();
    await db?.drop();
  });

  it('runs on the compiled output with plain node: an event applied and sent by the compiled worker thread, traced inbox → apply → send, metrics labelled with the instance', async () => {
    const a = await startInstance({
      id: 'built-a',
      databaseUrl: db.url,
      compiled: true,
      env: { SIGNALBOX_RULESET: anyTimeRuleset(), OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url, OTEL_SERVICE_NAME: 'signalbox-test' },
    });
    instances.push(a);
    expect((await post(`${a.url}/api/v1/events`, overdue('traced-1', '+254711000001'))).status).toBe(202);
    // the worker thread (compiled) applied it and called the provider
    await until('the reminder sent', async () => (await db.query<{ n: number }>('select count(*)::int n from sandbox_sends'))[0]?.n === 1);
    const [row] = await db.query<{ trace: string | null }>(`select trace from inbox where event_id = 'traced-1'`);
    expect(row?.trace).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);

    const byName = (name: string) => otlp.spans.filter((s) => s.name === name);
    await until('spans exported', async () => byName('provider.send').length > 0, 30_000);
    const [accept] = byName('inbox.accept');
    const [apply] = byName('inbox.apply');
    const [send] = byName('provider.send');
    expect(accept && apply && send).toBeTruthy();
    // one trace: accepted on the HTTP thread, applied and sent on the worker thread
    expect(new Set([accept?.traceId, apply?.traceId, send?.traceId]).size).toBe(1);
    expect(row?.trace).toBe(`00-${accept?.traceId}-${accept?.spanId}-01`);
    expect(apply?.parentSpanId).toBe(accept?.spanId);
    expect(send?.parentSpanId).toBe(apply?.spanId);
    expect(send?.attributes).toContainEqual({ key: 'signalbox.provider', value: { stringValue: 'sandbox' } });
    expect([...otlp.services]).toEqual(['signalbox-test/built-a']);

    // Prometheus: every series carries the instance label, the worker thread's merged in too
    const metrics = await scrape(a.url);
    expect(metrics).toMatch(/^signalbox_provider_calls_total\{[^}]*instance="built-a"[^}]*\} 1$/m);
    expect(metrics).toMatch(/^signalbox_http_requests_total\{[^}]*instance="built-a"[^}]*\} \d+$/m);
    expect(metrics).toMatch(/^process_resident_memory_bytes\{instance="built-a"\} \d+/m);
    expect((await fetch(`${a.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${a.url}/readyz`)).status).toBe(200);
    expect(a.stderr()).not.toMatch(/error|unhandled/i);

    // events of one request are applied in one unit, which starts their journeys together (their
    // first messages recorded at once): each provider call is still traced to its own event
    const imported = (
      await post(
        `${a.url}/api/v1/contacts/import`,
        [1, 2, 3].map((i) => ({ identities: [{ kind: 'phone', value: `+25471100010${i}` }], timezone: afternoonZone() })),
      )
    ).body as { results: Array<{ contactId: string }> };
    const exported = otlp.spans.length;
    const events = imported.results.map((r, i) => ({
      id: `unit-${i}`,
      type: 'invoice.overdue',
      occurredAt: new Date().toISOString(),
      contact: { id: r.contactId },
      object: { type: 'invoice', id: `unit-inv-${i}` },
    }));
    expect((await post(`${a.url}/api/v1/events`, events)).status).toBe(202);
    await until(
      'the three reminders sent',
      async () => (await db.query<{ n: number }>('select count(*)::int n from sandbox_sends'))[0]?.n === 4,
    );
    const fresh = (name: string) => otlp.spans.slice(exported).filter((s) => s.name === name);
    await until('their spans exported', async () => fresh('provider.send').length === 3, 30_000);
    const parents = fresh('provider.send').map((s) =>
      fresh('inbox.apply').find((x) => x.spanId === s.parentSpanId && x.traceId === s.traceId),
    );
    expect(parents.map((p) => p !== undefined)).toEqual([true, true, true]);
    expect(new Set(parents.map((p) => p?.spanId)).size).toBe(3);
    a.child.kill('SIGTERM');
    expect(await a.exited).toBe(0);
  }, 180_000);

  it('a port already in use, or an address not this machine’s, stops the instance with one line saying so, not a stack trace', async () => {
    const taken = createServer();
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
    const port = String((taken.address() as AddressInfo).port);
    try {
      for (const [env, said] of [
        [
          { PORT: port },
          new RegExp(
            `^signalbox: could not start: cannot listen on 127\\.0\\.0\\.1:${port} \\(HOST, PORT\\): the port is in use \\(EADDRINUSE\\)\n$`,
          ),
        ],
        [
          { HOST: '203.0.113.7' },
          /^signalbox: could not start: cannot listen on 203\.0\.113\.7:0 \(HOST, PORT\): the address is not one of this machine’s \(EADDRNOTAVAIL\)\n$/,
        ],
      ] as const) {
        const err = await startInstance({ id: 'no-listen', databaseUrl: db.url, env }).then(
          () => new Error('started'),
          (e: Error) => e,
        );
        expect(err.message).toMatch(/exited \(1\) before it was ready/);
        const stderr = err.message.slice(err.message.indexOf('\n') + 1);
        expect(stderr).toMatch(said);
      }
    } finally {
      await new Promise((r) => taken.close(r));
    }
  }, 60_000);

  it('without OTEL_EXPORTER_OTLP_ENDPOINT nothing is traced: no span exported, no trace kept with the event', async () => {
    const exported = otlp.spans.length;
    const b = await startInstance({ id: 'built-b', databaseUrl: db.url, compiled: true, env: { SIGNALBOX_RULESET: anyTimeRuleset() } });
    instances.push(b);
    const sends = async () => (await db.query<{ n: number }>('select count(*)::int n from sandbox_sends'))[0]?.n ?? 0;
    const before = await sends();
    expect((await post(`${b.url}/api/v1/events`, overdue('untraced-1', '+254711000002'))).status).toBe(202);
    await until('the reminder sent', async () => (await sends()) === before + 1);
    const [row] = await db.query<{ trace: string | null }>(`select trace from inbox where event_id = 'untraced-1'`);
    expect(row).toEqual({ trace: null });
    b.child.kill('SIGTERM');
    expect(await b.exited).toBe(0);
    expect(otlp.spans.length).toBe(exported);
  }, 120_000);

  it('the deployed app (pnpm deploy --prod, as the image holds it) runs outside the workspace with production dependencies only', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'signalbox-deploy-'));
    const app = join(dir, 'app');
    let spawned: ChildProcess | undefined;
    try {
      execFileSync('pnpm', ['--filter', '@signalbox/app', 'deploy', '--prod', '--legacy', app], { cwd: ROOT, stdio: 'pipe' });
      for (const dev of ['tsx', 'typescript', 'vite', 'vitest', 'supertest'])
        expect(existsSync(join(app, 'node_modules', dev)), dev).toBe(false);
      expect(existsSync(join(app, 'node_modules/@signalbox/engine/src'))).toBe(false);
      expect(existsSync(join(app, 'node_modules/@signalbox/admin-ui/dist/index.html'))).toBe(true);
      const child = spawn(process.execPath, ['dist/main.js'], {
        cwd: app,
        env: {
          PATH: process.env.PATH ?? '',
          NODE_OPTIONS: '--conditions=signalbox-compiled',
          PORT: '0',
          LOG_LEVEL: 'warn',
          DATA_DIR: join(dir, 'data'),
          SIGNALBOX_API_KEYS: `ops:admin:${KEY},prometheus:metrics:${METRICS_KEY}`,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      spawned = child;
      let err = '';
      child.stderr.on('data', (c: Buffer) => {
        err += c.toString();
      });
      const exited = new Promise((r) => child.once('exit', r));
      const url = await new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout.on('data', (c: Buffer) => {
          out += c.toString();
          const m = /Signalbox is running at (http:\/\/\S+)/.exec(out);
          if (m) resolve(m[1] as string);
        });
        void exited.then(() => reject(new Error(`the deployed app exited:\n${err}`)));
      });
      expect((await fetch(`${url}/readyz`)).status).toBe(200);
      expect((await fetch(`${url}/admin/`)).status).toBe(200);
      const sent = await post(`${url}/api/v1/messages`, {
        contact: { identities: [{ kind: 'phone', value: '+254711000003' }] },
        message: { type: 'otp' },
      });
      expect(sent).toMatchObject({ status: 202, body: { status: 'queued' } });
      // the deployed worker thread made the call
      await until('the deployed worker thread called the provider', async () =>
        /^signalbox_provider_calls_total\{[^}]*outcome="accepted"[^}]*\} 1$/m.test(await scrape(url)),
      );
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(err).toBe('');
    } finally {
      // a failed expectation must not leave the deployed app running after the suite
      if (spawned !== undefined && spawned.exitCode === null && spawned.signalCode === null) spawned.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  }, 300_000);
});
