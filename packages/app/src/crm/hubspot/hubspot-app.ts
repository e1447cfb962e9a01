import { DEFAULT_SCOPES, HubspotCrm, HubspotGateway } from '@signalbox/connectors';
import type { CompiledRuleset } from '@signalbox/engine';
import type { Chore } from '../../chore.js';
import type { Clock } from '../../clock.js';
import type { Sender } from '../../delivery/sender.js';
import type { Logger } from '../../logger.js';
import type { MessageRequests, MessageStore } from '../../requests/message-requests.js';
import { TokenCipher } from '../../security/token-cipher.js';
import type { CrmAccounts } from '../crm-accounts.js';
import type { CrmCallbacks } from '../crm-callbacks.js';
import type { CrmSyncCursors } from '../crm-sync-cursors.js';
import type { CrmWritebacks } from '../crm-writebacks.js';
import type { HubspotCalls } from './hubspot-calls.js';
import { HubspotContacts } from './hubspot-contacts.js';
import { HubspotInbox } from './hubspot-inbox.js';
import { HubspotSync } from './sync.js';
import { HubspotTokens } from './tokens.js';
import { WorkflowActions } from './workflow-actions.js';
import { HubspotWriteBack } from './write-back.js';

/** The HubSpot app's settings (from the environment). */
export interface HubspotSettings {
  clientId: string;
  clientSecret: string;
  redirectUri: string;
  apiBase: string;
  /** 32 bytes: encrypts portals' tokens at rest. */
  tokenKey: Uint8Array;
  rate?: { max: number; intervalMs: number } | undefined;
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
 * once at a time), the step that turns HubSpot's raw events into ours, the worker's chores
 * (timeline write-back, workflow callbacks, sync), and the calls the HTTP side makes.
 */
export class HubspotApp {
  readonly gateway: HubspotGateway;
  readonly crm: HubspotCrm;
  readonly tokens: HubspotTokens;
  readonly contacts: HubspotContacts;
  readonly inbox: HubspotInbox;
  readonly sync: HubspotSync;
  readonly writeBack: HubspotWriteBack;
  readonly actions: WorkflowActions;
  /** The calls the HTTP side makes, made here. */
  readonly calls: HubspotCalls;

  constructor(
    private readonly d: {
      settings: HubspotSettings;
      store: HubspotStore;
      sender: Sender<HubspotStore>;
      requests: MessageRequests;
      ruleset: () => CompiledRuleset;
      clock: Clock;
      log: Logger;
    },
  ) {
    const now = () => d.clock.now().getTime();
    const s = d.settings;
    this.tokens = new HubspotTokens(d.store.crmAccounts, new TokenCipher(Buffer.from(s.tokenKey)), now);
    this.gateway = new HubspotGateway(
      { clientId: s.clientId, clientSecret: s.clientSecret, redirectUri: s.redirectUri, scopes: DEFAULT_SCOPES, basePath: s.apiBase },
      this.tokens,
      { now, ...(s.rate ? { rate: s.rate } : {}) },
    );
    this.crm = new HubspotCrm(this.gateway);
    this.contacts = new HubspotContacts({ crm: this.crm, ruleset: d.ruleset, now });
    this.inbox = new HubspotInbox({ contacts: this.contacts, store: d.store, ruleset: d.ruleset });
    this.sync = new HubspotSync({ store: d.store, crm: this.crm, contacts: this.contacts, now, log: d.log });
    this.writeBack = new HubspotWriteBack({ crm: this.crm, now, log: d.log });
    this.actions = new WorkflowActions({ sender: d.sender, requests: d.requests, crm: this.crm, now, log: d.log });
    this.calls = {
      contactFor: (portalId, hubspotId) => this.contacts.contactFor(d.store.contacts, portalId, hubspotId),
      contactsOf: (portalId, objectType, objectId) => this.contacts.contactsOf(portalId, objectType, objectId),
      install: async (code) => {
        const tokens = await this.gateway.install(code);
        await this.crm.ensureProperties(tokens.portalId);
        await this.sync.begin(tokens.portalId);
        return tokens.portalId;
      },
    };
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
