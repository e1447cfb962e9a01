import { createHash } from 'node:crypto';
import { isValidTimeZone, type Ruleset } from '@signalbox/engine';
import type {
  ChangesPage,
  CrmConnector,
  CrmInboxItem,
  CrmLimits,
  CrmLogOutcome,
  CrmMessageLog,
  CrmPerson,
  CrmPersonFields,
  CrmRecordRef,
  CrmRequest,
  CrmRequestKind,
  PreparedCrmItem,
  SyncPage,
  VerifiedRequest,
} from '../crm-port.js';
import { CrmAuthError } from '../errors.js';
import { changeKey } from './change-key.js';
import { type HubspotContact, type HubspotCrm, identitiesOf } from './crm.js';
import { HubspotApiError, type HubspotGateway, PortalDisabledError } from './gateway.js';
import { HubspotInitialSync, type InitialSyncOptions } from './initial-sync.js';
import { verifyHubspotSignature } from './signature.js';
import { type HubspotWebhookEvent, normaliseHubspotEvents, validateHubspotWebhookBatch } from './webhook-events.js';

/**
 * HubSpot's inbox items: a Webhooks API delivery as it came (split into one `hubspot.event` per
 * change), one change, or a "Send a webhook" workflow call (the event named in its URL).
 */
export const HUBSPOT_DELIVERY = 'hubspot.delivery';
export const HUBSPOT_EVENT = 'hubspot.event';
export const HUBSPOT_WORKFLOW = 'hubspot.workflow';

/** A "Send a webhook" workflow delivery, as stored. */
export interface WorkflowDelivery {
  portalId: number;
  objectType: string;
  objectId: string;
  event: string;
  occurredAt: string;
}

/** Which signature versions each kind of request carries (HubSpot: v1 webhooks, v2 workflow actions, v3 everything newer). */
const VERSIONS: Record<CrmRequestKind, Array<'v1' | 'v2' | 'v3'>> = { events: ['v1', 'v3'], action: ['v2', 'v3'], panel: ['v3'] };

/** Our identity value for a HubSpot record: portal and id (ids are only unique within a portal). */
export const hubspotIdentity = (portalId: number | string, id: string) => `${portalId}:${id}`;

/** HubSpot's Communications and the `signalbox_*` properties, everything through the gateway (limiter, tokens). */
export class HubspotConnector implements CrmConnector {
  readonly crm = 'hubspot' as const;

  constructor(
    private readonly d: {
      crm: HubspotCrm;
      gateway: HubspotGateway;
      clientSecret: string;
      /** Exports for large portals: the threshold, the page size (initial-sync.ts). */
      initialSync?: InitialSyncOptions;
    },
  ) {
    this.initial = new HubspotInitialSync(d.crm, d.initialSync);
  }

  private readonly initial: HubspotInitialSync;

  async verify(req: CrmRequest, kind: CrmRequestKind, now: number): Promise<VerifiedRequest> {
    const c = verifyHubspotSignature(this.d.clientSecret, req, now, VERSIONS[kind]);
    if (!c.ok) throw new CrmAuthError('HubSpot', c.reason);
    // a timestamped (v3) signature identifies the request; the others carry no time, so the bytes do
    const replayKey =
      c.version === 'v3'
        ? `v3:${req.header('x-hubspot-signature-v3')}`
        : `${c.version}:${createHash('sha256').update(req.rawBody).digest('base64url')}`;
    return { account: null, replayKey };
  }

  identityOf(account: string, ref: CrmRecordRef): string {
    return hubspotIdentity(account, ref.id);
  }

  prepare(item: CrmInboxItem, eventMap: Ruleset['eventMap']): PreparedCrmItem {
    if (item.type === HUBSPOT_DELIVERY) {
      const events = validateHubspotWebhookBatch(item.payload);
      return {
        kind: 'split',
        items: events.map((e) => ({
          type: HUBSPOT_EVENT,
          key: changeKey(e),
          payload: e,
          lane: `hubspot:${e.portalId}:${e.subscriptionType.split('.')[0]}:${e.objectId}`,
        })),
      };
    }
    if (item.type === HUBSPOT_EVENT) {
      const raw = item.payload as HubspotWebhookEvent;
      const { events } = normaliseHubspotEvents([raw], eventMap);
      const e = events[0];
      if (e === undefined) return { kind: 'events', events: [], ignored: `not in the event map: ${raw.subscriptionType}`, reread: [] };
      const data = e.data as { portalId: number; subscriptionType: string; objectId: number };
      const type = data.subscriptionType.split('.')[0] as string;
      return {
        kind: 'events',
        events: [
          {
            account: String(data.portalId),
            record: { type, id: String(data.objectId) },
            event: { ...e, id: changeKey(raw), object: { type, id: `hubspot:${data.portalId}:${data.objectId}` } },
          },
        ],
        ignored: null,
        reread: [],
      };
    }
    if (item.type === HUBSPOT_WORKFLOW) {
      const w = item.payload as WorkflowDelivery;
      return {
        kind: 'events',
        events: [
          {
            account: String(w.portalId),
            record: { type: w.objectType, id: w.objectId },
            event: {
              id: `${w.portalId}:${item.key}`,
              source: 'hubspot',
              type: w.event,
              occurredAt: w.occurredAt,
              object: { type: w.objectType, id: `hubspot:${w.portalId}:${w.objectId}` },
              data: { portalId: w.portalId, subscriptionType: `${w.objectType}.workflow`, objectId: Number(w.objectId) },
            },
          },
        ],
        ignored: null,
        reread: [],
      };
    }
    return { kind: 'events', events: [], ignored: `unknown HubSpot inbox item "${item.type}"`, reread: [] };
  }

  async peopleOf(account: string, record: CrmRecordRef): Promise<CrmRecordRef[]> {
    if (record.type === 'contact') return [record];
    const ids = await this.d.crm.contactsOf(Number(account), `${record.type}s`, record.id);
    return ids.map((id) => ({ type: 'contact', id }));
  }

  async getPerson(account: string, ref: CrmRecordRef): Promise<CrmPerson | null> {
    const c = await this.d.crm.getContact(Number(account), ref.id);
    return c === null ? null : this.person(account, c);
  }

  private person(account: string, c: HubspotContact): CrmPerson {
    const identities = identitiesOf(c).map((i) => (i.kind === 'hubspot' ? { ...i, value: hubspotIdentity(account, i.value) } : i));
    const tz = c.properties.hs_timezone;
    return {
      ref: { type: 'contact', id: c.id },
      identities,
      // a zone HubSpot holds that no time zone database knows is left out (decisions use the market's)
      ...(tz && isValidTimeZone(tz) ? { timezone: tz } : {}),
      consent: [],
      deleted: false,
      updatedAt: c.updatedAt,
    };
  }

  /**
   * Small portals page through the contacts list; above the export threshold one export of every
   * contact is read as a stream (initial-sync.ts). A page not ready yet (the export still being
   * written) comes back empty with the same cursor.
   */
  async syncPage(account: string, cursor: string | null): Promise<SyncPage> {
    const page = await this.initial.page(Number(account), HubspotInitialSync.parse(cursor));
    return {
      people: page.contacts.filter((c) => c.id !== '').map((c) => this.person(account, c)),
      next: page.next === null ? null : JSON.stringify(page.next),
    };
  }

  /** Stops reading an export file left open between pages. */
  close(): Promise<void> {
    return this.initial.close();
  }

  /**
   * Search stops at 10,000 results and pages with `after`: the cursor is `{since, after}`; the last
   * page's cursor moves `since` to the newest change seen.
   */
  async changedSince(account: string, cursor: string): Promise<ChangesPage> {
    const c = parseCursor(cursor);
    const page = await this.d.crm.modifiedSince(Number(account), c.since, c.after);
    const people = page.contacts.map((p) => this.person(account, p));
    const newest = Math.max(c.since, ...page.contacts.map((p) => Date.parse(p.updatedAt)));
    if (page.next !== undefined)
      return { people, next: JSON.stringify({ since: c.since, after: page.next }), watermark: JSON.stringify({ since: c.since }) };
    return { people, next: null, watermark: JSON.stringify({ since: newest }) };
  }

  async logMessages(account: string, entries: readonly CrmMessageLog[]): Promise<CrmLogOutcome[]> {
    const out: CrmLogOutcome[] = [];
    for (const m of entries) {
      const body = [
        `Signalbox sent "${m.label}" by ${m.channel}: ${m.outcome}${m.cost !== null && m.cost > 0 ? ` (cost ${m.cost})` : ''}`,
        m.detail ? `content: ${m.detail}` : null,
        `why: ${m.reason}`,
      ]
        .filter(Boolean)
        .join('\n');
      try {
        const before = m.logged;
        if (before !== undefined && (before.kind === 'communication' || before.kind === 'note')) {
          // its outcome moved on: the same record rewritten (HubSpot has no idempotency key to create with)
          await this.d.crm.updateLogged(Number(account), { id: before.recordId, kind: before.kind, channel: m.channel, body });
          out.push({ messageId: m.messageId, recordId: before.recordId, kind: before.kind, error: null, permanent: false });
          continue;
        }
        const logged = await this.d.crm.logMessage(Number(account), { contactId: m.person.id, channel: m.channel, body, at: m.at });
        out.push({ messageId: m.messageId, recordId: logged.id, kind: logged.kind, error: null, permanent: false });
      } catch (err) {
        const permanent =
          err instanceof PortalDisabledError ||
          (err instanceof HubspotApiError && err.status >= 400 && err.status < 500 && err.status !== 429);
        out.push({ messageId: m.messageId, recordId: null, kind: null, error: (err as Error).message, permanent });
      }
    }
    return out;
  }

  async writeFields(account: string, person: CrmRecordRef, f: CrmPersonFields): Promise<void> {
    await this.d.crm.updateContact(Number(account), person.id, {
      signalbox_preferred_channel: f.preferredChannel ?? '',
      signalbox_reachable_channels: f.reachableChannels.join(', '),
      signalbox_consent_summary: f.consentSummary.slice(0, 1000) || 'defaults',
      signalbox_last_decision: (f.lastDecision ?? '').slice(0, 1000),
      signalbox_messages_30d: String(f.messages30d),
      signalbox_cost_30d: f.cost30d.toFixed(4),
    });
  }

  limits(account: string): CrmLimits {
    return {
      crm: 'hubspot',
      account,
      max: 100,
      used: null,
      window: '10 s',
      note: 'OAuth apps: 100 requests per 10 s per portal (re-tuned from X-HubSpot-RateLimit headers); search 4/s',
    };
  }
}

function parseCursor(cursor: string): { since: number; after?: string } {
  if (/^\d+$/.test(cursor)) return { since: Number(cursor) };
  try {
    const c = JSON.parse(cursor) as { since?: unknown; after?: unknown };
    return { since: Number(c.since) || 0, ...(typeof c.after === 'string' ? { after: c.after } : {}) };
  } catch {
    const at = Date.parse(cursor);
    return { since: Number.isFinite(at) ? at : 0 };
  }
}
