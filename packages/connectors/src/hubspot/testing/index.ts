export { FakeHubspot, type FakeHubspotOptions, type FakeObject } from './fake-hubspot.js';
