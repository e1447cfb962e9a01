export { CrmPayloadError } from './errors.js';
export {
  CONTACT_PROPERTIES,
  type HubspotContact,
  HubspotCrm,
  identitiesOf,
  SIGNALBOX_GROUP,
  SIGNALBOX_PROPERTIES,
} from './hubspot/crm.js';
export {
  DEFAULT_RATE,
  DEFAULT_SCOPES,
  HubspotApiError,
  type HubspotAppConfig,
  HubspotGateway,
  PortalDisabledError,
  type PortalTokens,
  type TokenStore,
} from './hubspot/gateway.js';
export {
  decodeV3Uri,
  type SignatureCheck,
  type SignedRequest,
  signV1,
  signV2,
  signV3,
  verifyHubspotSignature,
} from './hubspot/signature.js';
export {
  type HubspotWebhookEvent,
  hubspotWebhookEventSchema,
  MAX_EVENTS_PER_REQUEST,
  normaliseHubspotEvents,
  type ParsedWebhookBatch,
  parseHubspotWebhookBatch,
  validateHubspotWebhookBatch,
} from './hubspot/webhook-events.js';
