/**
 * What Signalbox writes into an org: every message as a completed Task on its Contact or Lead,
 * upserted on our external id `Signalbox_Message_Id__c` through sObject Collections (200 records a
 * call), so a retry after a crash updates the Task it already made instead of logging the message
 * twice; the Signalbox fields on Contact and Lead; and consent changes (the opt-out flags, and a
 * ContactPointTypeConsent record where the org has Data Protection & Privacy).
 */

import { SalesforceApiError } from './errors.js';
import type { SalesforceGateway } from './gateway.js';
import { toId18 } from './ids.js';
import type { PersonType } from './records.js';
import { soqlString } from './soql.js';

export const MAX_COLLECTION = 200;
export const MESSAGE_ID_FIELD = 'Signalbox_Message_Id__c';

/** The custom fields shipped in integrations/salesforce (Contact and Lead). */
export const SIGNALBOX_FIELDS = {
  preferredChannel: 'Signalbox_Preferred_Channel__c',
  reachableChannels: 'Signalbox_Reachable_Channels__c',
  consentSummary: 'Signalbox_Consent_Summary__c',
  lastDecisionReason: 'Signalbox_Last_Decision__c',
  messages30d: 'Signalbox_Messages_30d__c',
  cost30d: 'Signalbox_Cost_30d__c',
} as const;

export interface MessageLogEntry {
  /** Our message id: the Task's external id. */
  messageId: string;
  /** The Contact or Lead. */
  whoId: string;
  /** The Case or Opportunity the message was about, if any. */
  whatId?: string;
  channel: string;
  /** delivered, read, failed, suppressed, … */
  outcome: string;
  /** In the ruleset's currency; null when unknown. */
  cost: number | null;
  /** Why it was sent (or not): the decision's reasons. */
  reason: string;
  /** Template or message type, for the subject. */
  label: string;
  at: string | number;
  /** More detail for the Description (the message body is never written: it may hold PII). */
  detail?: string;
}

export interface SaveOutcome {
  key: string;
  id: string | null;
  created: boolean;
  error: { code: string; message: string; fields: string[] } | null;
}

export interface SignalboxFieldValues {
  preferredChannel: string | null;
  reachableChannels: readonly string[];
  consentSummary: string;
  lastDecisionReason: string | null;
  messages30d: number;
  cost30d: number;
}

type SaveResult = {
  id?: string;
  success: boolean;
  created?: boolean;
  errors: Array<{ statusCode?: string; errorCode?: string; message: string; fields?: string[] }>;
};

const cut = (s: string, n: number) => (s.length <= n ? s : `${s.slice(0, n - 1)}…`);

/** The Task a message becomes (Status Completed, ActivityDate the UTC day: Salesforce stores dates at UTC midnight). */
export function taskFor(m: MessageLogEntry): Record<string, unknown> {
  const at = new Date(m.at);
  const description = [
    `Decision: ${m.reason}`,
    `Channel: ${m.channel}`,
    `Outcome: ${m.outcome}`,
    ...(m.cost === null ? [] : [`Cost: ${m.cost}`]),
    ...(m.detail ? [m.detail] : []),
    `Signalbox message ${m.messageId}`,
  ].join('\n');
  return {
    [MESSAGE_ID_FIELD]: m.messageId,
    Subject: cut(`${m.channel.toUpperCase()} · ${m.label} · ${m.outcome}`, 255),
    Status: 'Completed',
    Priority: 'Normal',
    ActivityDate: at.toISOString().slice(0, 10),
    WhoId: m.whoId,
    ...(m.whatId ? { WhatId: m.whatId } : {}),
    Description: cut(description, 32_000),
    Signalbox_Channel__c: cut(m.channel, 40),
    Signalbox_Outcome__c: cut(m.outcome, 40),
    Signalbox_Cost__c: m.cost,
  };
}

function outcomes(keys: string[], results: SaveResult[]): SaveOutcome[] {
  return results.map((r, i) => ({
    key: keys[i] as string,
    id: r.id ?? null,
    created: r.created === true,
    error: r.success
      ? null
      : {
          code: r.errors[0]?.statusCode ?? r.errors[0]?.errorCode ?? 'UNKNOWN',
          message: r.errors[0]?.message ?? '',
          fields: r.errors[0]?.fields ?? [],
        },
  }));
}

export class SalesforceWriteBack {
  private readonly purposeIds = new Map<string, Map<string, string>>();
  private readonly channelTypeIds = new Map<string, Map<string, string>>();

  constructor(readonly gateway: SalesforceGateway) {}

  /** Upserts one completed Task per message, 200 per call; each message succeeds or fails on its own. */
  async logMessages(orgId: string, entries: readonly MessageLogEntry[]): Promise<SaveOutcome[]> {
    const out: SaveOutcome[] = [];
    for (let i = 0; i < entries.length; i += MAX_COLLECTION) {
      const chunk = entries.slice(i, i + MAX_COLLECTION);
      const results = (await this.gateway.call(orgId, async (c) =>
        c.sobject('Task').upsert(chunk.map(taskFor) as never[], MESSAGE_ID_FIELD, { allOrNone: false }),
      )) as unknown as SaveResult[];
      out.push(
        ...outcomes(
          chunk.map((m) => m.messageId),
          results,
        ),
      );
    }
    return out;
  }

  /** Writes the Signalbox fields of many people (Contacts and Leads), 200 per call. */
  async updateFields(
    orgId: string,
    updates: ReadonlyArray<{ type: PersonType; id: string; values: SignalboxFieldValues }>,
  ): Promise<SaveOutcome[]> {
    const records = updates.map((u) => ({
      attributes: { type: u.type },
      Id: u.id,
      [SIGNALBOX_FIELDS.preferredChannel]: u.values.preferredChannel === null ? null : cut(u.values.preferredChannel, 40),
      [SIGNALBOX_FIELDS.reachableChannels]: cut(u.values.reachableChannels.join(';'), 255),
      [SIGNALBOX_FIELDS.consentSummary]: cut(u.values.consentSummary, 32_000),
      [SIGNALBOX_FIELDS.lastDecisionReason]: u.values.lastDecisionReason === null ? null : cut(u.values.lastDecisionReason, 32_000),
      [SIGNALBOX_FIELDS.messages30d]: u.values.messages30d,
      [SIGNALBOX_FIELDS.cost30d]: Math.round(u.values.cost30d * 10_000) / 10_000,
    }));
    return this.updateMany(orgId, records);
  }

  private async updateMany(orgId: string, records: Array<Record<string, unknown>>): Promise<SaveOutcome[]> {
    const out: SaveOutcome[] = [];
    for (let i = 0; i < records.length; i += MAX_COLLECTION) {
      const chunk = records.slice(i, i + MAX_COLLECTION);
      const results = (await this.gateway.call(orgId, async (c) =>
        c.request({
          method: 'PATCH',
          url: '/composite/sobjects',
          body: JSON.stringify({ allOrNone: false, records: chunk }),
          headers: { 'content-type': 'application/json' },
        }),
      )) as SaveResult[];
      out.push(
        ...outcomes(
          chunk.map((r) => String(r.Id)),
          results,
        ),
      );
    }
    return out;
  }

  private async lookup(
    orgId: string,
    object: 'DataUsePurpose' | 'EngagementChannelType',
    cache: Map<string, Map<string, string>>,
  ): Promise<Map<string, string>> {
    let m = cache.get(orgId);
    if (m === undefined) {
      const rows = await this.gateway.call(
        orgId,
        async (c) => (await c.query<{ Id: string; Name: string }>(`SELECT Id, Name FROM ${object}`)).records,
      );
      m = new Map(rows.map((r) => [r.Name.trim().toLowerCase(), r.Id]));
      cache.set(orgId, m);
    }
    return m;
  }

  /**
   * Writes a consent change of ours back: `HasOptedOutOfEmail` follows e-mail marketing consent,
   * `DoNotCall` voice marketing consent; where the person has an Individual and the org has a
   * DataUsePurpose named like the purpose, a ContactPointTypeConsent records the change itself.
   */
  async writeConsent(
    orgId: string,
    person: { type: PersonType; id: string; individualId: string | null },
    change: {
      channel: string;
      purpose: 'marketing' | 'service' | 'transactional';
      status: 'granted' | 'revoked';
      at: string;
      source: string;
    },
  ): Promise<{ flags: SaveOutcome | null; contactPoint: SaveOutcome | null; skipped: string | null }> {
    let flags: SaveOutcome | null = null;
    const flag =
      change.purpose === 'marketing'
        ? change.channel === 'email'
          ? 'HasOptedOutOfEmail'
          : change.channel === 'voice'
            ? 'DoNotCall'
            : null
        : null;
    if (flag !== null)
      [flags] = (await this.updateMany(orgId, [
        { attributes: { type: person.type }, Id: person.id, [flag]: change.status === 'revoked' },
      ])) as [SaveOutcome];
    if (person.individualId === null || toId18(person.individualId) === null)
      return { flags, contactPoint: null, skipped: 'the person has no Individual record' };
    const pointType =
      change.channel === 'email' ? 'Email' : ['sms', 'voice', 'whatsapp', 'viber', 'rcs'].includes(change.channel) ? 'Phone' : null;
    if (pointType === null) return { flags, contactPoint: null, skipped: `no contact point type for ${change.channel}` };
    let purposes: Map<string, string>;
    try {
      purposes = await this.lookup(orgId, 'DataUsePurpose', this.purposeIds);
    } catch (e) {
      if (e instanceof SalesforceApiError && e.errorCode === 'INVALID_TYPE')
        return { flags, contactPoint: null, skipped: 'the org has no consent objects' };
      throw e;
    }
    const purposeId = purposes.get(change.purpose);
    if (purposeId === undefined)
      return { flags, contactPoint: null, skipped: `the org has no DataUsePurpose named ${soqlString(change.purpose)}` };
    const channelId =
      pointType === 'Phone' ? (await this.lookup(orgId, 'EngagementChannelType', this.channelTypeIds)).get(change.channel) : undefined;
    const record = {
      Name: cut(`Signalbox: ${change.channel} ${change.purpose} ${change.status}`, 255),
      PartyId: person.individualId,
      ContactPointType: pointType,
      DataUsePurposeId: purposeId,
      ...(channelId ? { EngagementChannelTypeId: channelId } : {}),
      PrivacyConsentStatus: change.status === 'granted' ? 'OptIn' : 'OptOut',
      EffectiveFrom: change.at,
      CaptureDate: change.at,
      CaptureSource: cut(`Signalbox (${change.source})`, 255),
      CaptureContactPointType: pointType,
    };
    const r = (await this.gateway.call(orgId, async (c) => c.sobject('ContactPointTypeConsent').create(record))) as unknown as SaveResult;
    return { flags, contactPoint: outcomes([person.id], [r])[0] as SaveOutcome, skipped: null };
  }
}
