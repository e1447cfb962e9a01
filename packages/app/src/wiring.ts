import { type Limiters, LocalLimiters } from '@signalbox/connectors';
import type { ChannelProvider, CompiledRuleset } from '@signalbox/engine';
import type { Clock } from './clock.js';
import { localCrmCalls } from './crm/crm-apps.js';
import type { CrmCalls } from './crm/crm-calls.js';
import { HubspotApp, type HubspotSettings } from './crm/hubspot/hubspot-app.js';
import { SalesforceApp, type SalesforceSettings } from './crm/salesforce/salesforce-app.js';
import type { Logger } from './logger.js';
import type { RuntimeMetrics } from './metrics/runtime-metrics.js';
import { buildProviders, stopProviders } from './providers/build-providers.js';
import type { ProviderSettings } from './providers/provider-settings.js';
import { SandboxProvider, type SandboxRule } from './providers/sandbox/sandbox-provider.js';
import { createRuntime, type Runtime } from './runtime.js';
import type { Store } from './store/store.js';

export interface WiringOptions {
  store: Store;
  ruleset: () => CompiledRuleset;
  clock: Clock;
  log: Logger;
  lease: { ms: number; owner: string };
  /** Units of work a worker round runs side by side on PostgreSQL (default 4; see RuntimeOptions.concurrency). */
  concurrency?: number | undefined;
  sandbox: { secret: string; receiptUrl: () => string | null; rules?: SandboxRule[] | undefined };
  /** Providers besides the sandbox (given the sandbox, e.g. to wrap it, and the limiters their senders are paced by). */
  providers?: (sandbox: SandboxProvider, limiters: Limiters) => ChannelProvider[];
  /** Where every outbound limit comes from (shared through Redis in production); default: this thread's own. */
  limiters?: Limiters;
  /** Real providers (Twilio, Telerivet, SMTP) and the routes between them. */
  providerSettings?: ProviderSettings | undefined;
  /** Where this instance can be reached (provider callbacks) when no public URL is configured. */
  publicUrl?: () => string | null;
  hubspot?: HubspotSettings | undefined;
  salesforce?: SalesforceSettings | undefined;
  metrics?: RuntimeMetrics | undefined;
}

export interface Wired {
  runtime: Runtime;
  sandbox: SandboxProvider;
  /** The names sends go through on this deployment (the sandbox, configured providers, the router in the sandbox's place). */
  providerNames: ReadonlySet<string>;
  hubspot: HubspotApp | null;
  salesforce: SalesforceApp | null;
  /** The CRM calls answered on this thread, by the CRM apps above. */
  crmCalls: CrmCalls;
  /** Stops what the CRM apps and the providers hold open (CDC subscriptions, SMTP connections, limiters) and the limiters' connections. */
  stopCrm(): Promise<void>;
}

/**
 * One thread's runtime with its providers and CRM apps (the HTTP thread's, and the worker
 * thread's own): the same wiring everywhere, so both threads behave alike.
 */
export function wire(o: WiringOptions): Wired {
  const now = () => o.clock.now().getTime();
  const sandbox = new SandboxProvider({
    sends: o.store.sandbox,
    log: o.log,
    secret: o.sandbox.secret,
    receiptUrl: o.sandbox.receiptUrl,
    now,
    ...(o.sandbox.rules ? { rules: o.sandbox.rules } : {}),
  });
  const limiters = o.limiters ?? new LocalLimiters();
  const providers = new Map<string, ChannelProvider>([['sandbox', sandbox]]);
  if (o.providerSettings !== undefined)
    for (const p of buildProviders(o.providerSettings, {
      sandbox,
      ruleset: o.ruleset,
      publicUrl: () => o.publicUrl?.() ?? 'http://127.0.0.1',
      now,
      limiters,
    }))
      providers.set(p.name, p);
  for (const p of o.providers?.(sandbox, limiters) ?? []) providers.set(p.name, p);
  let hubspot: HubspotApp | null = null;
  let salesforce: SalesforceApp | null = null;
  const runtime = createRuntime({
    store: o.store,
    ruleset: o.ruleset,
    providers,
    clock: o.clock,
    log: o.log,
    lease: o.lease,
    ...(o.concurrency !== undefined ? { concurrency: o.concurrency } : {}),
    ...(o.metrics ? { metrics: o.metrics } : {}),
    extend: ({ sender, requests }) => {
      const sources = [];
      const chores = [];
      if (o.hubspot !== undefined) {
        const app = new HubspotApp({
          settings: o.hubspot,
          store: o.store,
          sender,
          requests,
          ruleset: o.ruleset,
          clock: o.clock,
          log: o.log,
          limiters,
          syncClaim: o.lease,
        });
        hubspot = app;
        sources.push(app.inbox);
        chores.push(...app.chores());
      }
      if (o.salesforce !== undefined) {
        const app = new SalesforceApp({
          settings: o.salesforce,
          store: o.store,
          ruleset: o.ruleset,
          clock: o.clock,
          log: o.log,
          limiters,
          syncClaim: o.lease,
        });
        salesforce = app;
        sources.push(app.inbox);
        chores.push(...app.chores());
      }
      return { sources, chores };
    },
  });
  const apps = { ...(hubspot !== null ? { hubspot } : {}), ...(salesforce !== null ? { salesforce } : {}) };
  return {
    runtime,
    sandbox,
    providerNames: new Set(providers.keys()),
    hubspot,
    salesforce,
    crmCalls: localCrmCalls(apps, o.store),
    stopCrm: async () => {
      await (salesforce as SalesforceApp | null)?.stop();
      await (hubspot as HubspotApp | null)?.stop();
      // providers' own senders' limiters and SMTP connections, before the limiters they stand on
      await stopProviders(providers.values());
      await limiters.close();
    },
  };
}
