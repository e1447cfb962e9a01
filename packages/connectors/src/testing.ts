/** Test support for both CRMs: faithful local fakes of HubSpot and Salesforce. */
export * from './hubspot/testing/index.js';
export { dropPrefix, TEST_REDIS_URL, testPrefix, testRedis } from './limits/testing/test-redis.js';
export * from './salesforce/testing/index.js';
