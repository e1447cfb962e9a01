import { resolve } from 'node:path';
import { z } from 'zod';

/**
 * Configuration, parsed once from the environment. The only place that reads process.env.
 * A bad value stops start-up with a message naming the variable.
 */
/** A comma-separated list (spaces around items and empty items ignored), each item matching `pattern`. */
const commaList = (pattern: RegExp, message: string) =>
  z
    .string()
    .optional()
    .transform((v) =>
      (v ?? '')
        .split(',')
        .map((x) => x.trim())
        .filter((x) => x !== ''),
    )
    .pipe(z.array(z.string().regex(pattern, message)));

const apiKeySpec = z
  .string()
  .regex(
    /^[A-Za-z0-9_.-]+:(admin|agent|integration):[A-Za-z0-9_\-.~+/=]{24,}$/,
    'each key is name:role:secret (role admin|agent|integration, secret ≥ 24 chars)',
  );

export const configSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().default('127.0.0.1'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Ruleset document to load instead of the default. */
  SIGNALBOX_RULESET: z.string().optional(),
  /** Comma-separated name:role:secret. Without it the embedded profile makes one admin key in DATA_DIR. */
  SIGNALBOX_API_KEYS: z
    .string()
    .optional()
    .transform((s, ctx) => {
      if (s === undefined || s.trim() === '') return undefined;
      const keys = s.split(',').map((x) => x.trim());
      for (const k of keys) {
        const r = apiKeySpec.safeParse(k);
        if (!r.success) ctx.addIssue({ code: 'custom', message: r.error.issues[0]?.message ?? 'invalid key' });
      }
      return keys.map((k) => {
        const [name, role, ...secret] = k.split(':');
        return { name: name as string, role: role as Role, secret: secret.join(':') };
      });
    }),
  DATA_DIR: z.string().default('./data'),
  /** PostgreSQL for the production profile; without it the embedded SQLite file in DATA_DIR is used. */
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL')
    .optional(),
  /**
   * With DATABASE_URL: `on` applies missing migrations at start-up (under a PostgreSQL advisory
   * lock, so instances starting together never migrate at once); `off` only checks that none is
   * missing and refuses to start otherwise (migrations then run once per deploy: `pnpm migrate`).
   */
  MIGRATE_ON_START: z.enum(['on', 'off']).default('on'),
  /** Secret the sandbox provider signs receipts with (generated into DATA_DIR when absent). */
  SANDBOX_SECRET: z.string().min(24).optional(),
  /**
   * The background worker (inbox, timers, provider calls): `on` runs it in its own thread of this
   * process, `inline` on the HTTP thread, `off` not at all (another process works the store).
   */
  WORKER: z.enum(['on', 'inline', 'off']).default('on'),
  /**
   * Which instance this is: its claims and leases carry it, and a restarted instance takes its
   * own back at once. Keep it stable across restarts of one instance (e.g. the pod name).
   */
  INSTANCE_ID: z
    .string()
    .regex(/^[\w.:-]{1,100}$/, 'letters, digits and . _ : - (at most 100)')
    .optional(),
  /**
   * On SIGTERM, how long /readyz answers 503 before the server stops taking requests, so a load
   * balancer moves traffic away first (default: 1000 with DATABASE_URL, where instances run behind one; 0 embedded).
   */
  SHUTDOWN_DELAY_MS: z.coerce.number().int().min(0).max(120_000).optional(),
  /** How long a worker's claim lasts; a crashed worker's work is retaken after it. */
  WORKER_LEASE_MS: z.coerce.number().int().min(500).max(3_600_000).default(60_000),
  /** The public base URL HubSpot calls (request signatures cover the full URL; set it behind a proxy). */
  PUBLIC_URL: z.url().optional(),
  /** HubSpot app credentials; without them the HubSpot routes answer 404. */
  HUBSPOT_CLIENT_ID: z.string().min(1).optional(),
  HUBSPOT_CLIENT_SECRET: z.string().min(8).optional(),
  HUBSPOT_REDIRECT_URI: z.url().optional(),
  /** HubSpot's API base (tests and `pnpm fake:hubspot` point it at the fake). */
  HUBSPOT_API_BASE: z.url().default('https://api.hubapi.com'),
  /** Above this many contacts a portal's initial sync reads one CRM export instead of paging. */
  HUBSPOT_EXPORT_THRESHOLD: z.coerce.number().int().min(0).default(20_000),
  /** 32-byte key (base64) that encrypts portals' tokens at rest; generated into DATA_DIR when absent. */
  HUBSPOT_TOKEN_KEY: z
    .string()
    .refine((s) => Buffer.from(s, 'base64').length === 32, 'must be 32 bytes, base64')
    .optional(),
  /** Salesforce connected app credentials; without them the Salesforce routes answer 404. */
  SALESFORCE_CLIENT_ID: z.string().min(1).optional(),
  SALESFORCE_CLIENT_SECRET: z.string().min(8).optional(),
  SALESFORCE_REDIRECT_URI: z.url().optional(),
  /** Where orgs authorise (a sandbox: https://test.salesforce.com; a My Domain; the fake in tests). */
  SALESFORCE_LOGIN_URL: z.url().default('https://login.salesforce.com'),
  /** Server-to-server (JWT bearer flow): the user to act as, and the private key (PEM) whose certificate the connected app holds. */
  SALESFORCE_JWT_USERNAME: z.string().min(3).optional(),
  SALESFORCE_JWT_PRIVATE_KEY: z
    .string()
    .refine((s) => s.includes('PRIVATE KEY'), 'must be a PEM private key')
    .optional(),
  /** 32-byte key (base64) that encrypts orgs' tokens and panel keys at rest; generated into DATA_DIR when absent. */
  SALESFORCE_TOKEN_KEY: z
    .string()
    .refine((s) => Buffer.from(s, 'base64').length === 32, 'must be 32 bytes, base64')
    .optional(),
  /** Organization ids whose Outbound Messages are accepted besides the connected orgs (comma-separated). */
  SALESFORCE_ORG_IDS: commaList(/^00D[a-zA-Z0-9]{12}(?:[a-zA-Z0-9]{3})?$/, 'each must be an Organization id (00D…)'),
  /** A secret last path segment for the Outbound Message endpoint (`/hooks/salesforce/outbound/<secret>`). */
  SALESFORCE_OUTBOUND_SECRET: z.string().min(16).optional(),
  /** Custom objects to follow through Change Data Capture besides Contact, Lead, Case and Opportunity (comma-separated). */
  SALESFORCE_CDC_OBJECTS: commaList(/^[A-Za-z][A-Za-z0-9_]*__c$/, 'each must be a custom object API name (ends in __c)'),
  /** Change Data Capture subscriptions (off: Outbound Messages and the changed-since sweep only). */
  SALESFORCE_CDC: z.enum(['on', 'off']).default('on'),
  /** Above this many Contacts (or Leads) the initial sync reads through Bulk API 2.0 query jobs. */
  SALESFORCE_BULK_THRESHOLD: z.coerce.number().int().min(0).default(50_000),
  /** Secret the admin console's session cookies are signed with (generated into DATA_DIR when absent; share it across instances). */
  SESSION_SECRET: z.string().min(32).optional(),
  /**
   * An OpenTelemetry collector's base URL (OTLP over HTTP): when set, an event is traced from the
   * inbox to the provider call (spans to `<endpoint>/v1/traces`). Unset: no tracing at all.
   */
  OTEL_EXPORTER_OTLP_ENDPOINT: z.url().optional(),
  /** The traces' service name. */
  OTEL_SERVICE_NAME: z.string().min(1).default('signalbox'),
  /** Largest JSON body accepted. */
  BODY_LIMIT: z.string().default('256kb'),
  /** Directory relative paths given to the CLI are resolved from (pnpm sets INIT_CWD). */
  INIT_CWD: z.string().optional(),
});

export type Role = 'admin' | 'agent' | 'integration';
export interface ApiKey {
  name: string;
  role: Role;
  secret: string;
}
export type Config = z.output<typeof configSchema>;

export class ConfigError extends Error {}

export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const r = configSchema.safeParse(env);
  if (!r.success) {
    const lines = r.error.issues.map((i) => `  ${String(i.path[0] ?? '?')}: ${i.message}`);
    throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`);
  }
  return r.data;
}

/** Where the person typed the command (pnpm runs scripts from the workspace root). */
export function invocationDir(config: Pick<Config, 'INIT_CWD'>): string {
  return resolve(config.INIT_CWD ?? process.cwd());
}
