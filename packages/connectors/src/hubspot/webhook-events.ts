import { type CrmEvent, mapEventType, type Ruleset, toPointer } from '@signalbox/engine';
import { z } from 'zod';
import { CrmPayloadError } from '../errors.js';

/** The last millisecond of year 9999: a later `occurredAt` is no time a date can hold (or print in four digits). */
const LAST_TIME = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

/** One Webhooks API event as HubSpot sends it (shared/reference/hubspot.md §2). */
export const hubspotWebhookEventSchema = z.looseObject({
  eventId: z.union([z.number().int(), z.string().min(1)]),
  subscriptionId: z.number().int().optional(),
  portalId: z.number().int(),
  appId: z.number().int().optional(),
  occurredAt: z.number().int().nonnegative().max(LAST_TIME, 'must be a time in milliseconds before the year 10000'),
  subscriptionType: z.string().regex(/^[a-z_]+\.[a-zA-Z_]+$/, 'must look like object.eventType'),
  attemptNumber: z.number().int().nonnegative().optional(),
  objectId: z.number().int().nonnegative(),
  propertyName: z.string().optional(),
  propertyValue: z.unknown().optional(),
  changeFlag: z.string().optional(),
  changeSource: z.string().optional(),
  primaryObjectId: z.number().int().optional(),
  mergedObjectIds: z.array(z.number().int()).optional(),
  /** Developer-platform subscriptions send `object.propertyChange` with the object's type id. */
  objectTypeId: z.string().optional(),
});

const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v);
const optional = (v: unknown, check: (x: unknown) => boolean) => v === undefined || check(v);
const SUBSCRIPTION_TYPE = /^[a-z_]+\.[a-zA-Z_]+$/;

/** True exactly when `batchSchema` accepts the value (checked against it in webhook-events.test.ts). */
export function looksValid(body: unknown): boolean {
  if (!Array.isArray(body) || body.length < 1 || body.length > MAX_EVENTS_PER_REQUEST) return false;
  for (const e of body as Array<Record<string, unknown>>) {
    if (typeof e !== 'object' || e === null || Array.isArray(e)) return false;
    const id = e.eventId;
    if (!(isInt(id) || (typeof id === 'string' && id.length > 0))) return false;
    if (!isInt(e.portalId) || !isInt(e.occurredAt) || e.occurredAt < 0 || e.occurredAt > LAST_TIME || !isInt(e.objectId) || e.objectId < 0)
      return false;
    if (typeof e.subscriptionType !== 'string' || !SUBSCRIPTION_TYPE.test(e.subscriptionType)) return false;
    if (!optional(e.subscriptionId, isInt) || !optional(e.appId, isInt) || !optional(e.primaryObjectId, isInt)) return false;
    if (!optional(e.attemptNumber, (v) => isInt(v) && v >= 0)) return false;
    for (const k of ['propertyName', 'changeFlag', 'changeSource', 'objectTypeId'] as const)
      if (!optional(e[k], (v) => typeof v === 'string')) return false;
    if (!optional(e.mergedObjectIds, (v) => Array.isArray(v) && v.every(isInt))) return false;
  }
  return true;
}

/** HubSpot's object type ids, for the developer platform's generic `object.*` subscriptions. */
const OBJECT_TYPE_IDS: Record<string, string> = { '0-1': 'contact', '0-2': 'company', '0-3': 'deal', '0-5': 'ticket', '0-53': 'invoice' };
export type HubspotWebhookEvent = z.infer<typeof hubspotWebhookEventSchema>;

/** HubSpot batches up to 100 events per request; we accept a little more rather than drop any. */
export const MAX_EVENTS_PER_REQUEST = 1000;
const batchSchema = z.array(hubspotWebhookEventSchema).min(1).max(MAX_EVENTS_PER_REQUEST);

export interface ParsedWebhookBatch {
  /** Events in our vocabulary, deduplicated within the batch and ordered by occurredAt. */
  events: CrmEvent[];
  /** Raw events the ruleset's eventMap does not map (kept out of journeys, counted for metrics). */
  unmapped: HubspotWebhookEvent[];
}

/**
 * Normalises a Webhooks API delivery into CrmEvents through the ruleset's eventMap. The event id
 * is stable across HubSpot's retries (portal + eventId), so the inbox can dedupe redeliveries.
 */
export function parseHubspotWebhookBatch(body: unknown, eventMap: Ruleset['eventMap']): ParsedWebhookBatch {
  return normaliseHubspotEvents(validateHubspotWebhookBatch(body), eventMap);
}

/** Checks a delivery's shape (what is stored durably before we answer); mapping comes later. */
export function validateHubspotWebhookBatch(body: unknown): HubspotWebhookEvent[] {
  // the hot path: a hand-written check that agrees with the schema (differential test); the schema
  // runs only to name what is wrong
  if (looksValid(body)) return body as HubspotWebhookEvent[];
  const r = batchSchema.safeParse(body);
  if (!r.success) {
    throw new CrmPayloadError(
      'HubSpot webhook',
      r.error.issues.map((i) => ({ path: toPointer(i.path as Array<string | number>), message: i.message })),
    );
  }
  return r.data;
}

/** Validated events → our events through the eventMap, deduplicated, in the order they happened. */
export function normaliseHubspotEvents(list: readonly HubspotWebhookEvent[], eventMap: Ruleset['eventMap']): ParsedWebhookBatch {
  const r = { data: list };
  const seen = new Set<string>();
  const events: CrmEvent[] = [];
  const unmapped: HubspotWebhookEvent[] = [];
  for (const original of r.data) {
    const generic = /^object\.(.+)$/.exec(original.subscriptionType);
    const named = generic && original.objectTypeId ? OBJECT_TYPE_IDS[original.objectTypeId] : undefined;
    const raw = named ? { ...original, subscriptionType: `${named}.${generic?.[1]}` } : original;
    const id = `hubspot:${raw.portalId}:${raw.eventId}`;
    if (seen.has(id)) continue;
    seen.add(id);
    const type = mapEventType(eventMap, 'hubspot', raw);
    if (type === null) {
      unmapped.push(raw);
      continue;
    }
    const objectType = raw.subscriptionType.split('.')[0] as string;
    const data: Record<string, unknown> = {
      portalId: raw.portalId,
      subscriptionType: raw.subscriptionType,
      objectId: raw.objectId,
    };
    if (raw.propertyName !== undefined) data.propertyName = raw.propertyName;
    if (raw.propertyValue !== undefined) data.propertyValue = raw.propertyValue;
    if (raw.changeSource !== undefined) data.changeSource = raw.changeSource;
    if (raw.mergedObjectIds !== undefined) data.mergedObjectIds = raw.mergedObjectIds;
    if (raw.primaryObjectId !== undefined) data.primaryObjectId = raw.primaryObjectId;
    events.push({
      id,
      source: 'hubspot',
      type,
      object: { type: `hubspot.${objectType}`, id: String(raw.objectId) },
      occurredAt: new Date(raw.occurredAt).toISOString(),
      data,
    });
  }
  // HubSpot delivers out of order; consumers apply events in the order they happened
  events.sort((a, b) => Date.parse(a.occurredAt) - Date.parse(b.occurredAt) || (a.id < b.id ? -1 : 1));
  return { events, unmapped };
}
