import { createHash } from 'node:crypto';
import type { HubspotWebhookEvent } from './webhook-events.js';

/**
 * What identifies one change: HubSpot says `eventId` is "not guaranteed to be unique", so two
 * different changes may share one. Portal, subscription type, object, property name and value,
 * when it happened (and a merge's ids) identify the change; HubSpot's retries of it (another
 * `attemptNumber`, another delivery) carry the same and collapse into one.
 */
export function changeKey(e: HubspotWebhookEvent): string {
  const identity = [
    e.subscriptionType,
    e.objectTypeId ?? null,
    e.objectId,
    e.propertyName ?? null,
    e.propertyValue ?? null,
    e.changeFlag ?? null,
    e.occurredAt,
    e.primaryObjectId ?? null,
    e.mergedObjectIds ?? null,
  ];
  return `${e.portalId}:${createHash('sha256').update(JSON.stringify(identity)).digest('base64url').slice(0, 32)}`;
}
