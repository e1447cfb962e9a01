export { CrmPayloadError } from './errors.js';
export {
  type HubspotWebhookEvent,
  hubspotWebhookEventSchema,
  MAX_EVENTS_PER_REQUEST,
  type ParsedWebhookBatch,
  parseHubspotWebhookBatch,
} from './hubspot/webhook-events.js';
