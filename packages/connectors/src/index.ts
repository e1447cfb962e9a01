export type * from './crm-port.js';
export { CrmAuthError, CrmPayloadError } from './errors.js';
export { changeKey } from './hubspot/change-key.js';
export { ContactExport, ExportDownloadError, type ExportStatus } from './hubspot/contact-export.js';
export {
  CONTACT_PROPERTIES,
  type HubspotContact,
  HubspotCrm,
  identitiesOf,
  SIGNALBOX_GROUP,
  SIGNALBOX_PROPERTIES,
} from './hubspot/crm.js';
export {
  DEFAULT_OPTIONAL_SCOPES,
  DEFAULT_RATE,
  DEFAULT_SCOPES,
  HubspotApiError,
  type HubspotAppConfig,
  HubspotGateway,
  PortalDisabledError,
  PortalNotAllowedError,
  type PortalTokens,
  type TokenStore,
} from './hubspot/gateway.js';
export {
  HUBSPOT_DELIVERY,
  HUBSPOT_EVENT,
  HUBSPOT_WORKFLOW,
  HubspotConnector,
  hubspotIdentity,
  type WorkflowDelivery,
} from './hubspot/hubspot-connector.js';
export {
  DEFAULT_EXPORT_PAGE_SIZE,
  DEFAULT_EXPORT_POLL_MS,
  DEFAULT_EXPORT_THRESHOLD,
  HubspotInitialSync,
  type InitialCursor,
  type InitialSyncOptions,
} from './hubspot/initial-sync.js';
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
export { type JobOptions, type LimiterSettings, type Limiters, type Rate, type RequestWindow, retune } from './limits/limiters.js';
export { LocalLimiters } from './limits/local/local-limiters.js';
export { RedisLimiters, type RedisLimitersOptions } from './limits/redis/redis-limiters.js';
export { type BulkCursor, type BulkJobInfo, BulkQuery } from './salesforce/bulk-query.js';
export {
  type CdcDelivery,
  CdcSubscriber,
  type CdcSubscriberOptions,
  changeEventChannel,
  type ReplayStore,
} from './salesforce/cdc-subscriber.js';
export { type ModstampCursor, SalesforceCrm, type SalesforceCrmOptions, type SoqlSyncCursor } from './salesforce/crm.js';
export { SALESFORCE_DEFAULT_EVENT_MAP } from './salesforce/default-event-map.js';
export {
  BulkQueryError,
  OrgDisabledError,
  OutboundMessageError,
  SalesforceApiError,
  SalesforceConfigError,
  SalesforceLimitError,
  UnknownOrganizationError,
} from './salesforce/errors.js';
export {
  type CdcMessage,
  type ChangeEventHeader,
  isEcho,
  type NormalisedSalesforceEvents,
  normaliseChangeEvent,
  normaliseOutboundMessage,
  type SalesforceRawEvent,
} from './salesforce/events.js';
export {
  DEFAULT_API_VERSION,
  DEFAULT_SCOPES as SALESFORCE_DEFAULT_SCOPES,
  type SalesforceAppConfig,
  SalesforceGateway,
  type SalesforceLimits,
  type SalesforceOrgTokens,
  type SalesforceTokenStore,
} from './salesforce/gateway.js';
export { isOrgId, sameId, toId18 } from './salesforce/ids.js';
export { JWT_BEARER_GRANT, jwtAssertion } from './salesforce/jwt-bearer.js';
export type { PacerOptions } from './salesforce/limit-pacer.js';
export {
  checkOrganization,
  DEFAULT_XML_LIMITS,
  MAX_NOTIFICATIONS,
  OUTBOUND_ACK,
  type OutboundEndpointConfig,
  type OutboundNotification,
  type OutboundRequest,
  outboundAck,
  type ParsedOutboundMessage,
  parseOutboundMessage,
  receiveOutboundMessage,
} from './salesforce/outbound-message.js';
export { newPanelKey, PANEL_KEY_HEADER, PANEL_ORG_HEADER, PanelAuthError, verifyPanelRequest } from './salesforce/panel-auth.js';
export {
  type ContactPointConsentRow,
  consentFromContactPoints,
  consentFromFlags,
  e164,
  identitiesOf as salesforceIdentitiesOf,
  isoInstant,
  type PersonType,
  personFields,
  profileOf,
  type SalesforcePerson,
  toPerson,
} from './salesforce/records.js';
export {
  SALESFORCE_CDC,
  SALESFORCE_NOTIFICATION,
  SALESFORCE_OUTBOUND,
  SalesforceConnector,
  type SalesforceConnectorOptions,
  type StoredChangeEvent,
} from './salesforce/salesforce-connector.js';
export {
  MESSAGE_ID_FIELD,
  type MessageLogEntry,
  SalesforceWriteBack,
  type SaveOutcome,
  SIGNALBOX_FIELDS,
  type SignalboxFieldValues,
  taskFor,
} from './salesforce/write-back.js';
