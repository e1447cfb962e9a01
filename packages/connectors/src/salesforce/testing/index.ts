export { connectedGateway } from './connect.js';
export { changeEventChannel, RETENTION_MS } from './fake-cometd.js';
export { type FakeOrg, type Row, SfError } from './fake-org.js';
export { FakeSalesforce, type FakeSalesforceOptions, type RequestLogEntry } from './fake-salesforce.js';
export { fakeId, SIGNALBOX_PERSON_FIELDS, SIGNALBOX_TASK_FIELDS } from './fake-schema.js';
export { MemoryTokenStore } from './memory-token-store.js';
export { deliverOutboundMessage, isAck, type OutboundMessage, type OutboundNotification, outboundEnvelope } from './outbound-sender.js';
