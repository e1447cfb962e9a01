import { resolve } from 'node:path';
import { isOrgId } from '@signalbox/connectors';
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
    /^[A-Za-z0-9_.-]+:(admin|agent|integration|metrics):[A-Za-z0-9_\-.~+/=]{24,}$/,
    'each key is name:role:secret (role admin|agent|integration|metrics, secret ≥ 24 chars)',
  );

/** Comma-separated `key=value` pairs (e.g. `whatsapp=PN…,viber=PN…`), each matching `pattern` (key and value as its two groups). */
const commaPairs = (pattern: RegExp, expected: string) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      const out: Record<string, string> = {};
      for (const part of (v ?? '')
        .split(',')
        .map((x) => x.trim())
        .filter((x) => x !== '')) {
        const m = pattern.exec(part);
        if (m === null) ctx.addIssue({ code: 'custom', message: `"${part}": expected ${expected}` });
        else out[m[1] as string] = m[2] as string;
      }
      return out;
    });

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
      const parsed = keys.map((k) => {
        const [name, role, ...secret] = k.split(':');
        return { name: name as string, role: role as Role, secret: secret.join(':') };
      });
      // one secret under two entries would be whichever role came first; one name twice, two keys
      // the audit log cannot tell apart
      const twice = <T>(xs: T[]) => xs.filter((x, i) => xs.indexOf(x) !== i);
      for (const name of new Set(twice(parsed.map((k) => k.name))))
        ctx.addIssue({ code: 'custom', message: `the key name "${name}" is given more than once (names are what the audit log records)` });
      const secrets = twice(parsed.map((k) => k.secret));
      if (secrets.length > 0)
        ctx.addIssue({
          code: 'custom',
          message: `one secret is given to more than one key (${parsed
            .filter((k) => secrets.includes(k.secret))
            .map((k) => `${k.name}:${k.role}`)
            .join(', ')}): each key needs a secret of its own`,
        });
      return parsed;
    }),
  DATA_DIR: z.string().default('./data'),
  /** PostgreSQL for the production profile; without it the embedded SQLite file in DATA_DIR is used. */
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL')
    .optional(),
  /**
   * Redis (production profile): outbound limits (HubSpot portals, Salesforce orgs, provider
   * senders) and the caches that must be shared hold across every instance. Without it each
   * process keeps its own. The embedded profile needs none.
   */
  REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\//, 'must be a redis:// or rediss:// URL')
    .optional(),
  /** Put before every key and channel Signalbox uses in Redis (deployments sharing one Redis take one each). */
  REDIS_PREFIX: z
    .string()
    .regex(/^[\w.:-]{1,64}$/, 'letters, digits and . _ : - (at most 64)')
    .default('signalbox:'),
  /**
   * With DATABASE_URL: `on` applies missing migrations at start-up (under a PostgreSQL advisory
   * lock, so instances starting together never migrate at once); `off` only checks that none is
   * missing and refuses to start otherwise (migrations then run once per deploy: `pnpm migrate`).
   */
  MIGRATE_ON_START: z.enum(['on', 'off']).default('on'),
  /**
   * With DATABASE_URL: `on` names the statements Signalbox repeats, so PostgreSQL parses and plans
   * each once per connection; `off` behind a connection pooler that cannot keep prepared
   * statements across transactions (PgBouncer in transaction mode before 1.21).
   */
  PG_NAMED_STATEMENTS: z.enum(['on', 'off']).default('on'),
  /**
   * With DATABASE_URL: whether Signalbox vacuums and analyzes its own tables. `auto` does when the
   * server's autovacuum is off (the queue tables otherwise keep every dead row and never get
   * statistics, and the cached plans go bad); `on` always; `off` never (leave it to the DBA).
   */
  PG_UPKEEP: z.enum(['auto', 'on', 'off']).default('auto'),
  /** With DATABASE_URL: how long opening a connection may take before the attempt fails (start-up, requests: 503). */
  PG_CONNECT_TIMEOUT_MS: z.coerce.number().int().min(100).max(120_000).default(5_000),
  /**
   * With DATABASE_URL: how long a statement may go unanswered before its connection is dropped and
   * the statement fails (a partition or a hung server; VACUUM, ANALYZE and index builds are exempt).
   * 0: no limit.
   */
  PG_QUERY_TIMEOUT_MS: z.coerce.number().int().min(0).max(3_600_000).default(30_000),
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
  /**
   * How long an idle keep-alive connection stays open. Longer than a load balancer's idle timeout
   * (AWS ALB: 60 s), so the balancer, not the server, closes idle connections: a server that closes
   * one just as the balancer reuses it fails that request (Node's own default is 5 s).
   */
  HTTP_KEEP_ALIVE_MS: z.coerce.number().int().min(1_000).max(600_000).default(65_000),
  /**
   * How long a request may take to arrive, headers and body (408 after it): a client trickling a
   * body a byte at a time holds a connection no longer (Node's own default is 300 s), and a
   * shutdown does not wait longer than this for requests under way.
   */
  HTTP_REQUEST_TIMEOUT_MS: z.coerce.number().int().min(1_000).max(600_000).default(30_000),
  /**
   * With DATABASE_URL: how many units of work (up to 50 events each) a worker's round runs side
   * by side, each on its own connection (default: one per core beyond the first, 1 to 4, see
   * `defaultWorkerConcurrency`). More overlap the database's round trips when it is across a
   * network with cores to spare; fewer when instances share the database's cores, or many
   * instances share one database: measured on 2 cores shared with PostgreSQL, two instances
   * draining a backlog used 0.61–0.71 of one instance's events per CPU-second at 4, 0.82–0.89 at
   * 1. At most 4: the take window and the worker's pool of 10 connections are sized for that.
   * SQLite always runs one (one writer).
   */
  WORKER_CONCURRENCY: z.coerce.number().int().min(1).max(4).optional(),
  /** How long a worker's claim lasts; a crashed worker's work is retaken after it. */
  WORKER_LEASE_MS: z.coerce.number().int().min(500).max(3_600_000).default(60_000),
  /** The public base URL HubSpot calls (request signatures cover the full URL; set it behind a proxy). */
  PUBLIC_URL: z.url().optional(),
  /**
   * Which proxies in front of the app to believe about the client's address (X-Forwarded-For), as
   * Express reads it: the number of hops (`1` behind one load balancer), `loopback`, or addresses and
   * subnets (`10.0.0.0/8, 172.16.0.0/12`). Unset, none: behind a balancer every client then has the
   * balancer's address, and failed console sign-ins from one lock the console for all.
   */
  TRUST_PROXY: z
    .string()
    .trim()
    .regex(
      /^(\d{1,2}|loopback|linklocal|uniquelocal|[0-9a-fA-F.:/]+)(\s*,\s*(loopback|linklocal|uniquelocal|[0-9a-fA-F.:/]+))*$/,
      'a hop count, loopback, or addresses and subnets',
    )
    .transform((v) => (/^\d+$/.test(v) ? Number(v) : v))
    .optional(),
  /** HubSpot app credentials; without them the HubSpot routes answer 404. */
  HUBSPOT_CLIENT_ID: z.string().min(1).optional(),
  HUBSPOT_CLIENT_SECRET: z.string().min(8).optional(),
  HUBSPOT_REDIRECT_URI: z.url().optional(),
  /** HubSpot's API base (tests and `pnpm fake:hubspot` point it at the fake). */
  HUBSPOT_API_BASE: z.url().default('https://api.hubapi.com'),
  /** The only HubSpot portals that may install the app (comma-separated ids); any portal, when unset. */
  HUBSPOT_PORTAL_IDS: commaList(/^[1-9][0-9]{0,15}$/, 'each must be a HubSpot portal id (digits)').transform((l) => l.map(Number)),
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
  SALESFORCE_ORG_IDS: commaList(/^00D[a-zA-Z0-9]{12}(?:[a-zA-Z0-9]{3})?$/, 'each must be an Organization id (00D…)').refine(
    (ids) => ids.every(isOrgId),
    'an 18-character id must end in the checksum of its first 15 (copy it from Setup → Company Information, or give the 15-character form)',
  ),
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
   * Which provider accounts serve which channel in which market, fail-overs after the first:
   * `sms=twilio,telerivet;sms@KE=telerivet,twilio;whatsapp=twilio;voice=twilio;email=smtp`.
   * Channels without a route use the sandbox. Every name must be a configured provider.
   */
  PROVIDER_ROUTES: z.string().max(4000).optional(),
  /** Twilio (SMS, WhatsApp, voice): the account, its senders and its approved WhatsApp templates. */
  TWILIO_ACCOUNT_SID: z
    .string()
    .regex(/^AC[0-9a-f]{32}$/, 'must be an Account SID (AC + 32 hex)')
    .optional(),
  TWILIO_AUTH_TOKEN: z.string().min(16).optional(),
  TWILIO_SMS_FROM: commaList(/^(\+[1-9]\d{6,14}|[A-Za-z0-9 ]{1,11})$/, 'each must be an E.164 number or an alphanumeric sender id'),
  TWILIO_WHATSAPP_FROM: z
    .string()
    .regex(/^\+[1-9]\d{6,14}$/, 'must be an E.164 number')
    .optional(),
  TWILIO_VOICE_FROM: z
    .string()
    .regex(/^\+[1-9]\d{6,14}$/, 'must be an E.164 number')
    .optional(),
  TWILIO_MESSAGING_SERVICE_SID: z
    .string()
    .regex(/^MG[0-9a-f]{32}$/, 'must be a Messaging Service SID (MG + 32 hex)')
    .optional(),
  /** Approved WhatsApp templates: `name:language=HX…` (or `name=HX…`), comma-separated. */
  TWILIO_CONTENT_SIDS: commaPairs(/^([\w.:-]+)=(HX[0-9a-f]{32})$/, 'name[:language]=HX + 32 hex'),
  /** Messages per second per sender, in segments (1 for a US long code, 10 abroad, 100 for a short code). */
  TWILIO_MPS: z.coerce.number().int().min(1).max(10_000).default(10),
  /** Calls per second for the account (Twilio's default is 1). */
  TWILIO_CPS: z.coerce.number().int().min(1).max(100).default(1),
  TWILIO_MACHINE_DETECTION: z.enum(['on', 'off']).default('on'),
  /** Twilio's API replaced by this base (the local fake). */
  TWILIO_API_BASE: z.url().optional(),
  /** Telerivet (SMS, USSD, voice; WhatsApp and Viber through chat routes). */
  TELERIVET_API_KEY: z.string().min(16).optional(),
  TELERIVET_PROJECT_ID: z
    .string()
    .regex(/^PJ\w+$/, 'must be a project id (PJ…)')
    .optional(),
  TELERIVET_ROUTE_ID: z.string().min(1).optional(),
  /** Chat-app routes: `whatsapp=PN…,viber=PN…`. */
  TELERIVET_CHAT_ROUTES: commaPairs(/^(whatsapp|viber|rcs)=([\w-]+)$/, 'whatsapp|viber|rcs=<route id>'),
  /** The secret sent with each message for its status callback, and the webhook service's secret (incoming messages). */
  TELERIVET_STATUS_SECRET: z.string().min(16).optional(),
  TELERIVET_WEBHOOK_SECRET: z.string().min(16).optional(),
  TELERIVET_PER_SECOND: z.coerce.number().int().min(1).max(1000).default(5),
  TELERIVET_API_BASE: z.url().optional(),
  /** Email over SMTP: `smtp://user:pass@host:587` or `smtps://…:465`. */
  SMTP_URL: z
    .string()
    .regex(/^smtps?:\/\//, 'must be an smtp:// or smtps:// URL')
    .optional(),
  SMTP_FROM: z.string().min(3).optional(),
  SMTP_PER_SECOND: z.coerce.number().int().min(1).max(1000).default(10),
  /** Signs the unsubscribe links of marketing mail. */
  EMAIL_UNSUBSCRIBE_SECRET: z.string().min(24).optional(),
  EMAIL_UNSUBSCRIBE_MAILTO: z.email().optional(),
  /** Signs bounce and complaint reports posted to /hooks/email/reports (Signalbox-Signature). */
  EMAIL_REPORTS_SECRET: z.string().min(24).optional(),
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

/** What a key may do: everything; the agent's card and sends; a CRM's or system's events and sends; read /metrics only. */
export type Role = 'admin' | 'agent' | 'integration' | 'metrics';
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
