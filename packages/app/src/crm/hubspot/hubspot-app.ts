import { DEFAULT_SCOPES, HubspotConnector, HubspotCrm, HubspotGateway, type Limiters } from '@signalbox/connectors';
import type { CompiledRuleset } from '@signalbox/engine';
import type { Chore } from '../../chore.js';
import type { Clock } from '../../clock.js';
import type { Sender } from '../../delivery/sender.js';
import type { Logger } from '../../logger.js';
import type { MessageRequests, MessageStore } from '../../requests/message-requests.js';
import { TokenCipher } from '../../security/token-cipher.js';
import type { CrmAccounts } from '../crm-accounts.js';
import type { CrmApp } from '../crm-apps.js';
import type { CrmCallbacks } from '../crm-callbacks.js';
import { CrmInbox } from '../crm-inbox.js';
import { CrmPeople } from '../crm-people.js';
import { CrmSync } from '../crm-sync.js';
import type { CrmSyncCursors } from '../crm-sync-cursors.js';
import { CrmWriteBack } from '../crm-write-back.js';
import type { CrmWritebacks } from '../crm-writebacks.js';
import { HubspotTokens } from './tokens.js';
import { WorkflowActions } from './workflow-actions.js';

/** The HubSpot app's settings (from the environment). */
export interface HubspotSettings {
  clientId: string;
  clientSecret: string;
  redirectUri: string;
  apiBase: string;
  /** 32 bytes: encrypts portals' tokens at rest. */
  tokenKey: Uint8Array;
  rate?: { max: number; intervalMs: number } | undefined;
  /** The only portals that may install the app (`HUBSPOT_PORTAL_IDS`; any, when absent). */
  portalIds?: readonly number[] | undefined;
  /** Above this many contacts the initial sync reads one export instead of paging (default 20,000). */
  exportThreshold?: number | undefined;
  /** Contacts per page of an export's file (default 2,000). */
  exportPageSize?: number | undefined;
  /** How often an unfinished export's status is asked for (default 5 s). */
  exportPollMs?: number | undefined;
}

export interface HubspotStore extends MessageStore {
  crmAccounts: CrmAccounts;
  crmSync: CrmSyncCursors;
  crmWritebacks: CrmWritebacks;
  crmCallbacks: CrmCallbacks;
}

/** How often the worker writes back, completes callbacks and moves syncs along. */
const CHORE_EVERY_MS = 500;

/**
 * Signalbox as a HubSpot app, on one thread: the gateway (one limiter per portal, tokens refreshed
 * once at a time), HubSpot as a CRM connector, and on it the CRM rooms every CRM shares (the inbox
 * step, people, sync, write-back), plus what only HubSpot has: workflow actions and the install.
 */
export class HubspotApp implements CrmApp {
  readonly gateway: HubspotGateway;
  readonly crm: HubspotCrm;
  readonly connector: HubspotConnector;
  readonly tokens: HubspotTokens;
  readonly people: CrmPeople;
  readonly inbox: CrmInbox;
  readonly sync: CrmSync;
  readonly writeBack: CrmWriteBack;
  readonly actions: WorkflowActions;

  constructor(
    private readonly d: {
      settings: HubspotSettings;
      store: HubspotStore;
      sender: Sender<HubspotStore>;
      requests: MessageRequests;
      ruleset: () => CompiledRuleset;
      clock: Clock;
      log: Logger;
      /** The portals' limiters (shared by every instance through Redis in production). */
      limiters: Limiters;
      /** This instance and its claims' length: one instance at a time runs an account's sync. */
      syncClaim?: { owner: string; ms: number };
    },
  ) {
    const now = () => d.clock.now().getTime();
    const s = d.settings;
    this.tokens = new HubspotTokens(d.store.crmAccounts, new TokenCipher(Buffer.from(s.tokenKey)), now);
    this.gateway = new HubspotGateway(
      {
        clientId: s.clientId,
        clientSecret: s.clientSecret,
        redirectUri: s.redirectUri,
        scopes: DEFAULT_SCOPES,
        basePath: s.apiBase,
        ...(s.portalIds !== undefined && s.portalIds.length > 0 ? { portalIds: s.portalIds } : {}),
      },
      this.tokens,
      { now, limiters: d.limiters, ...(s.rate ? { rate: s.rate } : {}) },
    );
    this.crm = new HubspotCrm(this.gateway);
    this.connector = new HubspotConnector({
      crm: this.crm,
      gateway: this.gateway,
      clientSecret: s.clientSecret,
      initialSync: {
        ...(s.exportThreshold !== undefined ? { exportThreshold: s.exportThreshold } : {}),
        ...(s.exportPageSize !== undefined ? { exportPageSize: s.exportPageSize } : {}),
        ...(s.exportPollMs !== undefined ? { exportPollMs: s.exportPollMs } : {}),
        now,
      },
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
    this.actions = new WorkflowActions({ sender: d.sender, requests: d.requests, crm: this.crm, now, log: d.log });
  }

  /** The OAuth callback's work: tokens stored, the `signalbox` properties created, the initial sync begun. */
  async connect(code: string): Promise<string> {
    const tokens = await this.gateway.install(code);
    await this.crm.ensureProperties(tokens.portalId);
    await this.sync.begin(String(tokens.portalId));
    return String(tokens.portalId);
  }

  /** Stops reading an export file left open between the sync's pages. */
  stop(): Promise<void> {
    return this.connector.close();
  }

  /** The worker's HubSpot chores. */
  chores(): Chore[] {
    return [
      { name: 'hubspot write-back', everyMs: CHORE_EVERY_MS, run: () => this.writeBack.run(this.d.store) },
      { name: 'hubspot workflow callbacks', everyMs: CHORE_EVERY_MS, run: () => this.actions.completeSettled(this.d.store) },
      { name: 'hubspot sync', everyMs: CHORE_EVERY_MS, run: () => this.sync.round() },
    ];
  }
}

/** `portal:contactId` → the contact. */
function personOfIdentity(identity: string): { account: string; ref: { type: string; id: string } } | null {
  const m = /^(\d+):(\d+)$/.exec(identity);
  return m === null ? null : { account: m[1] as string, ref: { type: 'contact', id: m[2] as string } };
}
