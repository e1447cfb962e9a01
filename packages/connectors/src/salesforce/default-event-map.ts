import { DEFAULT_RULESET, type Ruleset } from '@signalbox/engine';

/**
 * The default ruleset's `eventMap.salesforce` (the engine's rulesets/default.json), written over the
 * raw event shape of events.ts. `Invoice__c` stands for the org's payment object (Salesforce has no
 * standard invoice outside Revenue Cloud): its CDC channel is named in the subscriber's configuration.
 */
export const SALESFORCE_DEFAULT_EVENT_MAP: NonNullable<Ruleset['eventMap']['salesforce']> =
  (DEFAULT_RULESET as Ruleset).eventMap.salesforce ?? [];
