/** Test support for both CRMs: faithful local fakes of HubSpot and Salesforce. */
export * from './hubspot/testing/index.js';
export * from './salesforce/testing/index.js';
