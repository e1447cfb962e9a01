import { type CrmEvent, mapEventType, type Ruleset, toPointer } from '@signalbox/engine';
import { z } from 'zod';
import { CrmPayloadError } from '../errors.js';

/** One Webhooks API event as HubSpot sends it (shared/reference/hubspot.md §2). */
export const hubspotWebhookEventSchema = z.looseObject({
  eventId: z.union([z.number().int(), z.string().min(1)]),
  subscriptionId: z.number().int().optional(),
  portalId: z.number().int(),
  appId: z.number().int().optional(),
  occurredAt: z.number().int().nonnegative(),
  subscriptionType: z.string().regex(/^[a-z_]+\.[a-zA-Z_]+$/, 'must look like object.eventType'),
  attemptNumber: z.number().int().nonnegative().optional(),
  objectId: z.number().int().nonnegative(),
  propertyName: z.string().optional(),
  propertyValue: z.unknown().optional(),
  changeFlag: z.string().optional(),
  changeSource: z.string().optional(),
  primaryObjectId: z.number().int().optional(),
  mergedObjectIds: z.array(z.number().int()).optional(),
});
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
  const r = batchSchema.safeParse(body);
  if (!r.success) {
    throw new CrmPayloadError(
      'HubSpot webhook',
      r.error.issues.map((i) => ({ path: toPointer(i.path as Array<string | number>), message: i.message })),
    );
  }
  const seen = new Set<string>();
  const events: CrmEvent[] = [];
  const unmapped: HubspotWebhookEvent[] = [];
  for (const raw of r.data) {
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
