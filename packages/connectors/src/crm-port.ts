/**
 * The CRM connector port: what Signalbox needs of any CRM, in framework-free types. HubSpot and
 * Salesforce are two implementations (`hubspot/hubspot-connector.ts`,
 * `salesforce/salesforce-connector.ts`); the app's CRM rooms (inbox step, sync, write-back, the
 * agent panels) are written once against this.
 */
import type { ConsentRecord, CrmEvent, Identity, Ruleset } from '@signalbox/engine';

export type CrmName = 'hubspot' | 'salesforce';

/** A record in a CRM: a person (a contact, a lead) or what people are attached to (a ticket, a case, a deal…). */
export interface CrmRecordRef {
  /** The CRM's own object type name (`contact`, `ticket`; `Contact`, `Lead`, `Case`, `Opportunity`). */
  type: string;
  id: string;
}

/** A person as the CRM holds them, in our terms. */
export interface CrmPerson {
  ref: CrmRecordRef;
  /** Our identities of the person, the CRM's own (`account:recordId`) among them. */
  identities: Identity[];
  timezone?: string;
  market?: string;
  /** What the CRM says about consent (opt-out flags, consent records). */
  consent: ConsentRecord[];
  deleted: boolean;
  updatedAt: string | null;
}

/** An HTTP request a CRM sent us, as the app hands it over. */
export interface CrmRequest {
  method: string;
  /** The full URL the CRM called (scheme and host included). */
  url: string;
  header(name: string): string | undefined;
  rawBody: Buffer;
}

/**
 * What a request is: the CRM's events (webhooks, outbound messages), a workflow action, or the
 * agent panel calling (the HubSpot card's fetch, the Salesforce panel's Named Credential).
 */
export type CrmRequestKind = 'events' | 'action' | 'panel';

export interface VerifiedRequest {
  /** The account (portal, org) the request proves it comes from, when its proof names one. */
  account: string | null;
  /** What identifies this very request (a signature): the same again is a replay. Null: the scheme has none. */
  replayKey: string | null;
  /** The body, parsed (JSON, or an Outbound Message), when the check had to read it. */
  body?: unknown;
}

/** An item of the inbox a CRM fills (a delivery, one change): its type, its unique key, what it holds. */
export interface CrmInboxItem {
  type: string;
  key: string;
  payload: unknown;
  /**
   * The record it is about (`crm:account:type:id`), when known: items of one record are applied in
   * the order received, whichever instance takes them.
   */
  lane?: string;
}

/** An event in our vocabulary about one record of one account. */
export interface CrmRecordEvent {
  account: string;
  record: CrmRecordRef;
  event: CrmEvent;
}

/**
 * A raw inbox item after the connector's step: split into items of their own (a delivery into its
 * changes, each then succeeding or failing alone), or mapped through the ruleset's event map into
 * events (none: `ignored` says why), with records to read again (a change that carried no values).
 */
export type PreparedCrmItem =
  | { kind: 'split'; items: CrmInboxItem[] }
  | { kind: 'events'; events: CrmRecordEvent[]; ignored: string | null; reread: Array<{ account: string; record: CrmRecordRef }> };

/** One page of a sync; `next` null when it is done. Cursors are opaque (stored as they are, resumed from). */
export interface SyncPage {
  people: CrmPerson[];
  next: string | null;
}

/** One page of changes: `next` to go on (null: none left), `watermark` to start the next sweep from. */
export interface ChangesPage extends SyncPage {
  watermark: string;
}

/** A message to write on a person's timeline (a HubSpot Communication or note, a Salesforce Task). */
export interface CrmMessageLog {
  messageId: string;
  person: CrmRecordRef;
  channel: string;
  /** sent, delivered, read, failed, … */
  outcome: string;
  cost: number | null;
  /** Why it was sent: the decision in one line. */
  reason: string;
  /** Template or message type. */
  label: string;
  /** The content variant, for the note. */
  detail?: string;
  at: number;
  /** The record logged for this message before (its outcome has moved on since): updated, not logged again. */
  logged?: { recordId: string; kind: string | null } | undefined;
}

export interface CrmLogOutcome {
  messageId: string;
  /** The record the CRM made (null when it failed). */
  recordId: string | null;
  kind: string | null;
  error: string | null;
  /** Retrying will not help (a 4xx other than rate limits, an account that uninstalled us). */
  permanent: boolean;
}

/** Signalbox's fields on a person (HubSpot properties, Salesforce custom fields). */
export interface CrmPersonFields {
  preferredChannel: string | null;
  reachableChannels: readonly string[];
  consentSummary: string;
  lastDecision: string | null;
  messages30d: number;
  cost30d: number;
}

/** What an account's API allows and how much of it is used, as far as the CRM says. */
export interface CrmLimits {
  crm: CrmName;
  account: string;
  /** Requests allowed per `window`, and used in it (null: not known yet). */
  max: number | null;
  used: number | null;
  window: string;
  note: string;
}

export interface CrmConnector {
  readonly crm: CrmName;
  /** Checks that a request comes from the CRM (a signature, an organization); throws a coded 4xx error otherwise. */
  verify(req: CrmRequest, kind: CrmRequestKind, now: number): Promise<VerifiedRequest>;
  /** The step of a raw inbox item: split it, or map it into events through the event map. Pure: no I/O. */
  prepare(item: CrmInboxItem, eventMap: Ruleset['eventMap']): PreparedCrmItem;
  /** The people a record is about (a person is their own). */
  peopleOf(account: string, record: CrmRecordRef): Promise<CrmRecordRef[]>;
  getPerson(account: string, ref: CrmRecordRef): Promise<CrmPerson | null>;
  /** Our identity value of a person (`account:recordId`). */
  identityOf(account: string, ref: CrmRecordRef): string;
  /** The initial sync, one page at a time (null: start), resumable from any page's cursor. */
  syncPage(account: string, cursor: string | null): Promise<SyncPage>;
  /**
   * People changed since a watermark (an ISO instant to start from, or a page's `next`/`watermark`),
   * oldest first: the repair sweep beside real-time events.
   */
  changedSince(account: string, cursor: string): Promise<ChangesPage>;
  logMessages(account: string, entries: readonly CrmMessageLog[]): Promise<CrmLogOutcome[]>;
  writeFields(account: string, person: CrmRecordRef, fields: CrmPersonFields): Promise<void>;
  limits(account: string): CrmLimits;
}
