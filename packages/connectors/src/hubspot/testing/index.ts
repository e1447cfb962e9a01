export type { FakeActionDefinition } from './fake-callbacks.js';
export { DOWNLOAD_TTL_MS, ZIP_OVER_BYTES } from './fake-exports.js';
export { FakeHubspot, type FakeHubspotOptions, type FakeObject, type FakePortal } from './fake-hubspot.js';
export { ALL_SCOPES } from './fake-scopes.js';
