import type { Receipt, Ruleset } from '@signalbox/engine';
import type { MetricObjectWithValues, MetricValue } from 'prom-client';
import type { CallError, CrmCalls } from '../crm/crm-calls.js';
import type { HubspotSettings } from '../crm/hubspot/hubspot-app.js';
import type { SalesforceSettings } from '../crm/salesforce/salesforce-app.js';
import type { UpkeepMode } from '../db/connection.js';
import type { Checkpoints } from '../db/sqlite.js';
import type { ProviderSettings } from '../providers/provider-settings.js';
import type { InboxRequest, InboxRequestResult } from '../store/accept-checked.js';
import type { TracingSettings } from '../tracing/start-tracing.js';

/** What the worker thread needs to build its own runtime (config, not objects: it has its own connection). */
export interface WorkerThreadData {
  database:
    | { kind: 'sqlite'; file: string; checkpoints?: Checkpoints; turns?: SharedArrayBuffer }
    | {
        kind: 'postgres';
        url: string;
        namedStatements?: boolean;
        upkeep?: UpkeepMode;
        connectTimeoutMs?: number;
        queryTimeoutMs?: number;
      };
  ruleset: Ruleset;
  logLevel: string;
  sandboxSecret: string;
  receiptUrl: string;
  leaseMs: number;
  /** Units of work a round runs side by side (PostgreSQL; WORKER_CONCURRENCY). */
  concurrency?: number;
  /** The instance whose claims this worker holds. */
  owner: string;
  /** Whether a starting worker takes back every lease (one process owns everything: SQLite). */
  resumeAll: boolean;
  /** The CRM apps' settings, so the worker's own gateways can call them. */
  crm: CrmSettings;
  /** Redis, where the limits all instances share live (the thread connects on its own). */
  redis?: { url: string; prefix: string };
  /** The real providers (credentials included), built again in the thread; and where callbacks reach this instance. */
  providers?: ProviderSettings | undefined;
  publicUrl: string;
  /** Where this thread's spans go (absent: no tracing). */
  tracing?: TracingSettings;
}

/** CRM apps' settings (secrets included: the thread is this process's own). */
export interface CrmSettings {
  hubspot?: HubspotSettings | undefined;
  salesforce?: SalesforceSettings | undefined;
}

/** A hot write the HTTP thread hands over (see HotWrites), answered by a `written` message. */
export type HotWrite = { kind: 'inbox'; requests: InboxRequest[] } | { kind: 'receipts'; provider: string; receipts: Receipt[] };

/** Messages the HTTP thread sends: new work, a hot write, a newly published ruleset, a metrics scrape, stop. */
export type ToWorker =
  | { type: 'nudge' }
  | { type: 'write'; id: number; write: HotWrite }
  | { type: 'ruleset'; source: Ruleset }
  | { type: 'metrics'; id: number }
  | { type: 'call'; id: number; name: keyof CrmCalls; args: unknown[] }
  | { type: 'stop' };

/** Messages the worker thread sends back. */
export type FromWorker =
  | { type: 'ready' }
  | { type: 'failed'; message: string }
  | { type: 'stopped' }
  | { type: 'written'; id: number; ok: true; result: InboxRequestResult[] | Array<'applied' | 'parked'> }
  | {
      type: 'written';
      id: number;
      ok: false;
      message: string;
      /** The database's error code (a data error: `Coalescer` writes each caller's part again on its own). */
      code?: string;
    }
  | { type: 'metrics'; id: number; metrics: MetricObjectWithValues<MetricValue<string>>[] }
  | { type: 'called'; id: number; ok: true; result: unknown }
  | { type: 'called'; id: number; ok: false; error: CallError };
