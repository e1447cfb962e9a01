import {
  CdcSubscriber,
  type CrmRecordRef,
  type CrmRequest,
  type CrmRequestKind,
  type Limiters,
  SALESFORCE_CDC,
  SalesforceConnector,
  SalesforceCrm,
  SalesforceGateway,
  toId18,
  UnknownOrganizationError,
  type VerifiedRequest,
} from '@signalbox/connectors';
import type { CompiledRuleset } from '@signalbox/engine';
import type { Chore } from '../../chore.js';
import type { Clock } from '../../clock.js';
import type { ConsentLedger } from '../../contacts/consent-ledger.js';
import type { ContactRepository } from '../../contacts/contact-repository.js';
import type { InboxRepository } from '../../inbox/inbox-repository.js';
import type { Logger } from '../../logger.js';
import type { MessageRepository } from '../../messages/message-repository.js';
import { TokenCipher } from '../../security/token-cipher.js';
import type { CrmAccounts } from '../crm-accounts.js';
import type { CrmApp } from '../crm-apps.js';
import { CrmInbox } from '../crm-inbox.js';
import { CrmPeople } from '../crm-people.js';
import type { CrmReplayIds } from '../crm-replay.js';
import { CrmSync } from '../crm-sync.js';
import type { CrmSyncCursors } from '../crm-sync-cursors.js';
import { CrmWriteBack } from '../crm-write-back.js';
import type { CrmWritebacks } from '../crm-writebacks.js';
import { SalesforceTokens } from './tokens.js';

/** The Salesforce connected app's settings (from the environment). */
export interface SalesforceSettings {
  clientId: string;
  clientSecret: string;
  redirectUri: string;
  loginUrl: string;
  /** 32 bytes: encrypts orgs' tokens and panel keys at rest. */
  tokenKey: Uint8Array;
  /** Server-to-server: the JWT bearer flow's private key and the user to act as (connected at start). */
  jwt?: { privateKeyPem: string; username: string } | undefined;
  /** Organizations whose Outbound Messages are accepted besides the connected ones. */
  orgIds: readonly string[];
  /** The Outbound Message endpoint's secret last path segment, if one is configured. */
  outboundSecret?: string | undefined;
  /** Change Data Capture: Contact, Lead, Case, Opportunity and the custom objects named. */
  cdcEntities: readonly string[];
  /** Above this many Contacts (or Leads) the initial sync reads through Bulk API 2.0. */
  bulkThreshold?: number | undefined;
  /** Real-time Change Data Capture subscriptions (off: Outbound Messages and the sweep only). */
  cdc: boolean;
}

export interface SalesforceStore {
  contacts: ContactRepository;
  consent: ConsentLedger;
  messages: MessageRepository;
  inbox: InboxRepository;
  crmAccounts: CrmAccounts;
  crmSync: CrmSyncCursors;
  crmWritebacks: CrmWritebacks;
  crmReplay: CrmReplayIds;
  transaction<T>(fn: (tx: this) => Promise<T>): Promise<T>;
}

const CHORE_EVERY_MS = 500;
/** How long the connected orgs read from the store are trusted by the HTTP side. */
const ORGS_FRESH_MS = 5_000;
/** An unknown org makes the HTTP side read the connected orgs again, at most this often. */
const ORGS_RECHECK_MS = 500;

/**
 * Signalbox as a Salesforce connected app, on one thread: the gateway (a jsforce Connection and a
 * limiter per org, tokens refreshed once at a time), Salesforce as a CRM connector, the CRM rooms
 * every CRM shares on it (inbox step, people, sync, write-back), Change Data Capture subscribers
 * feeding the one inbox, and our consent changes written back.
 */
export class SalesforceApp implements CrmApp {
  readonly gateway: SalesforceGateway;
  readonly crm: SalesforceCrm;
  readonly tokens: SalesforceTokens;
  readonly connector: SalesforceConnector;
  readonly people: CrmPeople;
  readonly inbox: CrmInbox;
  readonly sync: CrmSync;
  readonly writeBack: CrmWriteBack;
  private readonly subscribers = new Map<string, CdcSubscriber>();
  private connected: string[] = [];
  private orgsReadAt = Number.NEGATIVE_INFINITY;
  private jwtOrg: string | null = null;

  constructor(
    private readonly d: {
      settings: SalesforceSettings;
      store: SalesforceStore;
      ruleset: () => CompiledRuleset;
      clock: Clock;
      log: Logger;
      /** The orgs' limiters (shared by every instance through Redis in production). */
      limiters: Limiters;
      /** This instance and its claims' length: one instance at a time runs an account's sync. */
      syncClaim?: { owner: string; ms: number };
    },
  ) {
    const now = () => d.clock.now().getTime();
    const s = d.settings;
    this.tokens = new SalesforceTokens(d.store.crmAccounts, new TokenCipher(Buffer.from(s.tokenKey)), now);
    this.gateway = new SalesforceGateway(
      {
        clientId: s.clientId,
        clientSecret: s.clientSecret,
        redirectUri: s.redirectUri,
        loginUrl: s.loginUrl,
        ...(s.jwt ? { jwt: { privateKeyPem: s.jwt.privateKeyPem } } : {}),
      },
      this.tokens,
      { now, limiters: d.limiters },
    );
    this.crm = new SalesforceCrm(this.gateway);
    this.connector = new SalesforceConnector({
      crm: this.crm,
      gateway: this.gateway,
      allowedOrgIds: () => [...this.connected, ...s.orgIds],
      outboundPathSecret: s.outboundSecret,
      panelKeyOf: (orgId) => this.tokens.panelKey(orgId),
      ...(s.bulkThreshold !== undefined ? { bulkThreshold: s.bulkThreshold } : {}),
    });
    this.people = new CrmPeople({ connector: this.connector, ruleset: d.ruleset, now });
    this.inbox = new CrmInbox({ connector: this.connector, people: this.people, store: d.store, ruleset: d.ruleset });
    this.sync = new CrmSync({
      connector: this.connector,
      people: this.people,
      store: d.store,
      now,
      log: d.log,
      ...(d.syncClaim !== undefined ? { claim: d.syncClaim } : {}),
    });
    this.writeBack = new CrmWriteBack({ connector: this.connector, personOf: personOfIdentity, now, log: d.log });
  }

  /** The connected orgs (Outbound Messages are accepted from them); read again now and then. */
  async refreshOrgs(): Promise<readonly string[]> {
    this.orgsReadAt = this.d.clock.now().getTime();
    this.connected = await this.d.store.crmAccounts.active('salesforce');
    return this.connected;
  }

  /**
   * Checks a request from Salesforce (an Outbound Message's org, path secret and XML; a panel's
   * key) against the orgs connected now: an org connected a moment ago on another thread or
   * instance is found by reading them again before it is refused.
   */
  async verify(req: CrmRequest, kind: CrmRequestKind): Promise<VerifiedRequest> {
    const now = this.d.clock.now().getTime();
    if (kind === 'events' && now - this.orgsReadAt > ORGS_FRESH_MS) await this.refreshOrgs();
    try {
      return await this.connector.verify(req, kind, now);
    } catch (err) {
      if (!(err instanceof UnknownOrganizationError) || now - this.orgsReadAt < ORGS_RECHECK_MS) throw err;
      await this.refreshOrgs();
      return this.connector.verify(req, kind, now);
    }
  }

  /** The OAuth web server flow's callback: the org connected, its sync begun. Returns the org. */
  async connect(code: string): Promise<string> {
    const tokens = await this.gateway.connectWithCode(code);
    await this.sync.begin(tokens.orgId);
    await this.refreshOrgs();
    return tokens.orgId;
  }

  /** Server-to-server: the org of the configured JWT user, connected (by the worker, at start). */
  async connectJwt(): Promise<string | null> {
    const jwt = this.d.settings.jwt;
    if (jwt === undefined) return null;
    if (this.jwtOrg !== null) return this.jwtOrg;
    const tokens = await this.gateway.connectWithJwt(jwt.username);
    // a first connection starts the initial sync; a restart goes on from the stored cursor
    if ((await this.d.store.crmSync.get('salesforce', tokens.orgId, 'initial')) === null) await this.sync.begin(tokens.orgId);
    await this.refreshOrgs();
    this.jwtOrg = tokens.orgId;
    this.d.log.info({ orgId: tokens.orgId }, 'Salesforce org connected (JWT bearer flow)');
    return tokens.orgId;
  }

  private async connectJwtChore(): Promise<number> {
    if (this.d.settings.jwt === undefined || this.jwtOrg !== null) return 0;
    try {
      await this.connectJwt();
      return 1;
    } catch (err) {
      this.d.log.warn({ err: (err as Error).message }, 'Salesforce JWT bearer connection failed; tried again shortly');
      return 0;
    }
  }

  /**
   * A Change Data Capture subscriber per connected org: each event goes into the one inbox (durable)
   * before its replay id is stored; a replay id past retention means a full re-sync.
   */
  private async subscribe(): Promise<number> {
    if (!this.d.settings.cdc) return 0;
    let started = 0;
    for (const orgId of await this.refreshOrgs()) {
      if (this.subscribers.has(orgId)) continue;
      const sub = new CdcSubscriber({
        gateway: this.gateway,
        orgId,
        entities: this.d.settings.cdcEntities,
        replayStore: {
          get: (org, channel) => this.d.store.crmReplay.get('salesforce', org, channel),
          save: (org, channel, replayId) => this.d.store.crmReplay.save('salesforce', org, channel, replayId, this.d.clock.now().getTime()),
        },
        onEvent: async (e) => {
          const h = e.message.payload.ChangeEventHeader;
          const key = h.transactionKey !== undefined ? `${h.transactionKey}:${h.sequenceNumber ?? 0}` : `${e.channel}:${e.replayId}`;
          await this.d.store.inbox.accept(
            {
              source: 'salesforce',
              eventId: `cdc:${e.orgId}:${key}`,
              type: SALESFORCE_CDC,
              stage: 'raw',
              payload: { orgId: e.orgId, channel: e.channel, message: e.message },
            },
            this.d.clock.now().getTime(),
          );
        },
        onResyncNeeded: async (r) => {
          this.d.log.warn({ orgId: r.orgId, channel: r.channel }, 'change events past retention: a full re-sync of the org follows');
          await this.d.store.crmSync.save(
            'salesforce',
            r.orgId,
            'initial',
            { cursor: null, done: false, count: 0 },
            this.d.clock.now().getTime(),
          );
        },
        onError: (e) => this.d.log.warn({ orgId: e.orgId, reason: e.reason }, 'change data capture'),
      });
      this.subscribers.set(orgId, sub);
      try {
        await sub.start();
        started++;
      } catch (err) {
        this.subscribers.delete(orgId);
        this.d.log.warn({ orgId, err: (err as Error).message }, 'change data capture did not start; the next round tries again');
      }
    }
    return started;
  }

  /**
   * Our consent changes (keywords, agents, the API; not the CRM's own) written back to the people
   * they concern in every org, in the order they were recorded, from a stored cursor.
   */
  private async writeConsent(limit = 100): Promise<number> {
    const store = this.d.store;
    const cursor = (await store.crmSync.get('salesforce', '*', 'consent'))?.cursor ?? null;
    const lines = await store.consent.recordedAfter(cursor, limit, 'crm');
    for (const line of lines) {
      const identity = await store.contacts.identityOf(line.contactId, 'salesforce');
      const who = identity === null ? null : personOfIdentity(identity);
      if (who !== null && line.record.purpose !== '*') {
        try {
          const skipped = await this.connector.writeConsent(who.account, who.ref, {
            channel: line.record.channel,
            purpose: line.record.purpose,
            status: line.record.status,
            at: line.record.at,
            source: line.record.source,
          });
          if (skipped !== null) this.d.log.info({ orgId: who.account, skipped }, 'consent write-back: part skipped');
        } catch (err) {
          this.d.log.warn({ orgId: who.account, err: (err as Error).message }, 'consent write-back failed; tried again next round');
          break;
        }
      }
      await store.crmSync.save('salesforce', '*', 'consent', { cursor: line.cursor, done: false, count: 0 }, this.d.clock.now().getTime());
    }
    return lines.length;
  }

  /** The worker's Salesforce chores. */
  chores(): Chore[] {
    return [
      { name: 'salesforce connect (JWT)', everyMs: 5_000, run: () => this.connectJwtChore() },
      { name: 'salesforce change data capture', everyMs: 5_000, run: () => this.subscribe() },
      { name: 'salesforce write-back', everyMs: CHORE_EVERY_MS, run: () => this.writeBack.run(this.d.store) },
      { name: 'salesforce consent write-back', everyMs: CHORE_EVERY_MS, run: () => this.writeConsent() },
      { name: 'salesforce sync', everyMs: CHORE_EVERY_MS, run: () => this.sync.round() },
    ];
  }

  async stop(): Promise<void> {
    await Promise.all([...this.subscribers.values()].map((s) => s.stop()));
    this.subscribers.clear();
  }
}

/** `orgId:recordId` → the person (a Contact, key prefix 003, or a Lead, 00Q). */
export function personOfIdentity(identity: string): { account: string; ref: CrmRecordRef } | null {
  const [account, id] = identity.split(':');
  if (account === undefined || id === undefined || toId18(id) === null) return null;
  const type = id.startsWith('00Q') ? 'Lead' : 'Contact';
  return { account, ref: { type, id } };
}

/** The object a record id names, from its key prefix (the panel is shown on Contacts, Leads and Cases). */
export function recordOfId(id: string): CrmRecordRef | null {
  const full = toId18(id);
  if (full === null) return null;
  const type = full.startsWith('003')
    ? 'Contact'
    : full.startsWith('00Q')
      ? 'Lead'
      : full.startsWith('500')
        ? 'Case'
        : full.startsWith('006')
          ? 'Opportunity'
          : null;
  return type === null ? null : { type, id: full };
}
