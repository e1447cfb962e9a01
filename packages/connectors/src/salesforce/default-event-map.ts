import type { Ruleset } from '@signalbox/engine';

/**
 * Proposed entries for the default ruleset's `eventMap.salesforce`, over the raw event shape of
 * events.ts. `Invoice__c` stands for the org's payment object (Salesforce has no standard invoice
 * outside Revenue Cloud): its CDC channel is named in the subscriber's configuration.
 */
export const SALESFORCE_DEFAULT_EVENT_MAP: NonNullable<Ruleset['eventMap']['salesforce']> = [
  { match: { entityName: 'Case', changeType: 'CREATE' }, event: 'ticket.opened' },
  { match: { entityName: 'Case', 'fields.Status': 'Closed' }, event: 'ticket.closed' },
  { match: { entityName: 'Opportunity', 'fields.StageName': 'Closed Won' }, event: 'order.placed' },
  {
    match: { entityName: 'Invoice__c', 'fields.Status__c': 'Paid' },
    event: 'invoice.paid',
    description: 'the org’s payment object; rename to match',
  },
  { match: { entityName: 'Invoice__c', 'fields.Status__c': 'Overdue' }, event: 'invoice.overdue' },
  { match: { entityName: 'Contact', changeType: 'CREATE' }, event: 'contact.created' },
  { match: { entityName: 'Lead', changeType: 'CREATE' }, event: 'contact.created' },
  { match: { entityName: 'Contact', changeType: 'UPDATE' }, event: 'contact.updated' },
  { match: { entityName: 'Lead', changeType: 'UPDATE' }, event: 'contact.updated' },
  { match: { entityName: 'Contact', changeType: 'DELETE' }, event: 'contact.deleted' },
  { match: { entityName: 'Lead', changeType: 'DELETE' }, event: 'contact.deleted' },
  { match: { origin: 'outbound', entityName: 'Contact' }, event: 'contact.updated', description: 'an Outbound Message on Contact' },
];
