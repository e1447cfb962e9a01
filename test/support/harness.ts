import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ADMIN_UI_DIST } from '@signalbox/admin-ui/build';
import {
  createLogger,
  createSystem,
  dropPostgresSchema,
  type OpenDatabase,
  openPostgres,
  openSqlite,
  type ProviderSettings,
  RulesHolder,
  type Runtime,
  type SandboxProvider,
  type SandboxRule,
  Store,
  type System,
  sign,
  TestClock,
} from '@signalbox/app';
import type { ChannelProvider } from '@signalbox/engine';
import { DEFAULT_RULESET, loadRuleset } from '@signalbox/engine';
import request from 'supertest';

export const KEYS = {
  admin: 'admin-key-0123456789abcdefghij',
  agent: 'agent-key-0123456789abcdefghij',
  integration: 'integ-key-0123456789abcdefghij',
  metrics: 'scrape-key-0123456789abcdefghij',
};
export const SANDBOX_SECRET = 'sandbox-secret-0123456789abcdef';

export interface Harness {
  system: System;
  clock: TestClock;
  store: Store;
  /** The database under the store, for what a test reads directly. */
  db: OpenDatabase['db'];
  url: string;
  api: (role?: keyof typeof KEYS) => { get(path: string): request.Test; post(path: string): request.Test; put(path: string): request.Test };
  /** Runs the inbox and due timers and waits for the sandbox's receipts, until nothing moves. */
  settle(): Promise<void>;
  /** Moves the clock, then settles. */
  advance(ms: number): Promise<void>;
  /** Posts a signed inbound message as the sandbox provider would. */
  inbound(m: { id: string; channel: string; from: string; text?: string; payload?: string }): request.Test;
  receipt(providerMessageId: string, status: string): request.Test;
  /** Several receipts in one signed request, as bulk gateways report them. */
  receipts(list: Array<{ providerMessageId: string; status: string; at: string }>): request.Test;
  close(): Promise<void>;
}

export interface HarnessHubspot {
  clientId: string;
  clientSecret: string;
  apiBase: string;
  rate?: { max: number; intervalMs: number };
  exportThreshold?: number;
  exportPageSize?: number;
  exportPollMs?: number;
  portalIds?: number[];
}

export interface HarnessSalesforce {
  clientId: string;
  clientSecret: string;
  loginUrl: string;
  cdc?: boolean;
  cdcEntities?: string[];
  bulkThreshold?: number;
  outboundSecret?: string;
  jwt?: { privateKeyPem: string; username: string };
}

/**
 * Templates the stories send that the default ruleset does not declare, declared as a company
 * whose texts live with its provider would (no content: the provider gets the name and
 * variables). A request naming a template the active ruleset lacks is refused at the door.
 */
export const STORY_TEMPLATES = {
  order_update: { messageType: 'service', description: 'Your order has an update' },
  order_shipped: { messageType: 'transactional', description: 'Your order has shipped' },
  technician_visit: { messageType: 'service', description: 'Your technician visit' },
  callback_scheduled: { messageType: 'service', description: 'We will call you back' },
  balance_due: { messageType: 'service', category: 'collections', description: 'A balance is due' },
  final_notice: { messageType: 'service', category: 'collections', description: 'Final notice' },
  black_friday: { messageType: 'promotional', description: 'Black Friday offers' },
  cyber_monday: { messageType: 'promotional', description: 'Cyber Monday offers' },
} as const;

export async function startHarness(o: {
  at: string;
  sandboxRules?: SandboxRule[];
  postgresSchema?: string;
  hubspot?: HarnessHubspot;
  salesforce?: HarnessSalesforce;
  /** Providers in front of the sandbox (given the sandbox), e.g. one that fails first. */
  wrapSandbox?: (sandbox: SandboxProvider) => ChannelProvider;
  /** Redis (a connected client, which the system owns from then on): shared limits and caches. */
  redis?: Parameters<typeof createSystem>[0]['redis'];
  /** Real providers (pointed at their local fakes) and routes between them. */
  providers?: ProviderSettings;
  /** Proxies whose X-Forwarded-For is believed (TRUST_PROXY). */
  trustProxy?: number | string;
  /** false: the default ruleset exactly, without STORY_TEMPLATES (rules governance compares against it). */
  storyTemplates?: boolean;
  /** An SQLite file of an earlier harness (a restart), instead of a new one. */
  sqliteFile?: string;
}): Promise<Harness> {
  const clock = new TestClock(new Date(o.at));
  const db = o.postgresSchema
    ? await openPostgres('postgres://postgres@127.0.0.1:5432/test', { schema: o.postgresSchema, max: 5 })
    : await openSqlite(o.sqliteFile ?? join(mkdtempSync(join(tmpdir(), 'signalbox-scn-')), 'signalbox.db'));
  const store = new Store(db);
  const base = DEFAULT_RULESET as { templates: Record<string, unknown> };
  const rs = loadRuleset(o.storyTemplates === false ? base : { ...base, templates: { ...base.templates, ...STORY_TEMPLATES } });
  const system = createSystem({
    store,
    rules: new RulesHolder(rs),
    clock,
    log: createLogger('silent'),
    apiKeys: [
      { name: 'ops', role: 'admin', secret: KEYS.admin },
      { name: 'desk', role: 'agent', secret: KEYS.agent },
      { name: 'crm', role: 'integration', secret: KEYS.integration },
      { name: 'prometheus', role: 'metrics', secret: KEYS.metrics },
    ],
    sandboxSecret: SANDBOX_SECRET,
    admin: { dir: ADMIN_UI_DIST, sessionSecret: 'console-session-secret-0123456789abcdef' },
    ...(o.sandboxRules ? { sandboxRules: o.sandboxRules } : {}),
    ...(o.redis ? { redis: o.redis } : {}),
    ...(o.providers ? { providerSettings: o.providers } : {}),
    ...(o.trustProxy !== undefined ? { trustProxy: o.trustProxy } : {}),
    ...(o.wrapSandbox
      ? { providers: (sandbox: SandboxProvider) => [(o.wrapSandbox as (s: SandboxProvider) => ChannelProvider)(sandbox)] }
      : {}),
    ...(o.hubspot
      ? {
          hubspot: {
            ...o.hubspot,
            redirectUri: 'https://signalbox.example.com/hubspot/oauth/callback',
            tokenKey: Buffer.alloc(32, 7),
          },
        }
      : {}),
    ...(o.salesforce
      ? {
          salesforce: {
            clientId: o.salesforce.clientId,
            clientSecret: o.salesforce.clientSecret,
            loginUrl: o.salesforce.loginUrl,
            redirectUri: 'https://signalbox.example.com/salesforce/oauth/callback',
            tokenKey: Buffer.alloc(32, 9),
            orgIds: [],
            outboundSecret: o.salesforce.outboundSecret,
            cdcEntities: o.salesforce.cdcEntities ?? ['Contact', 'Lead', 'Case', 'Opportunity'],
            cdc: o.salesforce.cdc ?? true,
            ...(o.salesforce.bulkThreshold !== undefined ? { bulkThreshold: o.salesforce.bulkThreshold } : {}),
            ...(o.salesforce.jwt ? { jwt: o.salesforce.jwt } : {}),
          },
        }
      : {}),
  });
  const { url } = await system.listen(0);
  const api = (role: keyof typeof KEYS = 'admin') => ({
    get: (path: string) => request(url).get(path).set('authorization', `Bearer ${KEYS[role]}`),
    post: (path: string) => request(url).post(path).set('authorization', `Bearer ${KEYS[role]}`),
    put: (path: string) => request(url).put(path).set('authorization', `Bearer ${KEYS[role]}`),
  });
  const settle = async () => {
    // another settle (or a claimed row) may be mid-work: wait on progress, up to 10 s of real time
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      await system.sandbox.drain();
      const before = await store.sandbox.sends();
      await runUntilIdle(system.runtime);
      await system.sandbox.drain();
      const after = await store.sandbox.sends();
      const now = clock.now().getTime();
      // an event held back after a failure waits for its retry time, as timers do
      if (!(await store.inbox.hasWork(now)) && !(await store.inbox.hasWork(now, 'raw')) && after.length === before.length) {
        const due = await store.timers.nextDue();
        if (due === null || due > now) return;
      }
      await new Promise((r) => setTimeout(r, 5));
    }
    throw new Error('the system did not settle');
  };
  const signed = (path: string, body: unknown) => {
    const raw = JSON.stringify(body);
    return request(url)
      .post(path)
      .set('content-type', 'application/json')
      .set('signalbox-signature', sign(SANDBOX_SECRET, raw, Date.now()))
      .send(raw);
  };
  return {
    system,
    clock,
    store,
    db: db.db,
    url,
    api,
    settle,
    async advance(ms) {
      clock.advance(ms);
      await settle();
    },
    inbound: (m) => signed('/hooks/providers/sandbox/inbound', { ...m, at: clock.now().toISOString() }),
    receipt: (id, status) => signed('/hooks/providers/sandbox/receipts', { providerMessageId: id, status, at: clock.now().toISOString() }),
    receipts: (list) => signed('/hooks/providers/sandbox/receipts', { receipts: list }),
    async close() {
      await system.close();
      if (o.postgresSchema) await dropPostgresSchema('postgres://postgres@127.0.0.1:5432/test', o.postgresSchema);
    },
  };
}

/** Rounds of the worker's work, every chore included, until one finds nothing to do (at most `maxRounds`). */
export async function runUntilIdle(runtime: Runtime, maxRounds = 50): Promise<void> {
  for (let i = 0; i < maxRounds; i++) if ((await runtime.round()) + (await runtime.choresNow()) === 0) return;
}
