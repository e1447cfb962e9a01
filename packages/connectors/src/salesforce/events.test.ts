/** CDC events and Outbound Messages → CrmEvents through an eventMap (the default ruleset's entries). */
import { DEFAULT_RULESET, loadRuleset } from '@signalbox/engine';
import { describe, expect, it } from 'vitest';
import { SALESFORCE_DEFAULT_EVENT_MAP } from './default-event-map.js';
import { type CdcMessage, isEcho, normaliseChangeEvent, normaliseOutboundMessage } from './events.js';
import { toId18 } from './ids.js';
import { parseOutboundMessage } from './outbound-message.js';
import { outboundEnvelope } from './testing/outbound-sender.js';

const eventMap = { salesforce: SALESFORCE_DEFAULT_EVENT_MAP };
const ORG = toId18('00D5g000000ABCD') as string;
const CASE = toId18('5005g00000CASE1') as string;

const cdc = (entityName: string, changeType: string, fields: Record<string, unknown>, over: Record<string, unknown> = {}): CdcMessage => ({
  schema: 's',
  payload: {
    ChangeEventHeader: {
      entityName,
      recordIds: [CASE],
      changeType,
      changedFields: Object.keys(fields),
      changeOrigin: '',
      transactionKey: '0002a1b2-aaaa',
      sequenceNumber: 1,
      commitTimestamp: Date.parse('2026-11-23T09:00:00Z'),
      ...over,
    },
    ...fields,
  },
  event: { replayId: 2031 },
});

describe('Salesforce events → CrmEvents', () => {
  it('maps Case created / closed and Opportunity closed-won, with stable ids and org-keyed objects', () => {
    const opened = normaliseChangeEvent(
      ORG,
      '/data/CaseChangeEvent',
      cdc('Case', 'CREATE', { Status: 'New', Subject: 'Refund' }),
      eventMap,
    );
    expect(opened.events).toEqual([
      {
        id: `salesforce:${ORG}:cdc:0002a1b2-aaaa:1:${CASE}`,
        source: 'salesforce',
        type: 'ticket.opened',
        object: { type: 'salesforce.Case', id: `${ORG}:${CASE}` },
        occurredAt: '2026-11-23T09:00:00.000Z',
        data: expect.objectContaining({
          orgId: ORG,
          entityName: 'Case',
          changeType: 'CREATE',
          fields: { Status: 'New', Subject: 'Refund' },
          replayId: 2031,
        }),
      },
    ]);
    expect(
      normaliseChangeEvent(ORG, 'c', cdc('Case', 'UPDATE', { Status: 'Closed', LastModifiedDate: 'x' }), eventMap).events[0]?.type,
    ).toBe('ticket.closed');
    // a case raised to high priority: the contact's open account issue is urgent (story 10); other priorities map to nothing
    expect(normaliseChangeEvent(ORG, 'c', cdc('Case', 'UPDATE', { Priority: 'High' }), eventMap).events[0]?.type).toBe(
      'account.issue_urgent',
    );
    expect(normaliseChangeEvent(ORG, 'c', cdc('Case', 'UPDATE', { Priority: 'Medium' }), eventMap).unmapped).toHaveLength(1);
    expect(normaliseChangeEvent(ORG, 'c', cdc('Case', 'CREATE', { Priority: 'High' }), eventMap).events[0]?.type).toBe('ticket.opened');
    expect(
      normaliseChangeEvent(ORG, 'c', cdc('Opportunity', 'UPDATE', { StageName: 'Closed Won' }), eventMap).events.map((e) => e.type),
    ).toEqual(['order.placed']);
    expect(normaliseChangeEvent(ORG, 'c', cdc('Invoice__c', 'UPDATE', { Status__c: 'Paid' }), eventMap).events[0]?.type).toBe(
      'invoice.paid',
    );
    // the same change replayed has the same id (the inbox dedupes it)
    const again = normaliseChangeEvent(
      ORG,
      '/data/ChangeEvents',
      { ...cdc('Case', 'CREATE', { Status: 'New' }), event: { replayId: 9999 } },
      eventMap,
    );
    expect(again.events[0]?.id).toBe(opened.events[0]?.id);
  });

  it('the default ruleset maps a case, a won opportunity and the payment object', () => {
    expect(SALESFORCE_DEFAULT_EVENT_MAP.length).toBeGreaterThanOrEqual(5);
    const types = (m: CdcMessage) => normaliseChangeEvent(ORG, 'c', m, eventMap).events.map((e) => e.type);
    expect(types(cdc('Invoice__c', 'UPDATE', { Status__c: 'Paid' }))).toEqual(['invoice.paid']);
    expect(types(cdc('Invoice__c', 'UPDATE', { Amount__c: 3 }))).toEqual([]);
  });

  it("keeps the engine's current default entries working", () => {
    const current = loadRuleset(DEFAULT_RULESET).source.eventMap;
    expect(normaliseChangeEvent(ORG, 'c', cdc('Case', 'CREATE', { Status: 'New' }), current).events[0]?.type).toBe('ticket.opened');
    expect(normaliseChangeEvent(ORG, 'c', cdc('Case', 'UPDATE', { Status: 'Closed' }), current).events[0]?.type).toBe('ticket.closed');
    expect(normaliseChangeEvent(ORG, 'c', cdc('Opportunity', 'UPDATE', { StageName: 'Closed Won' }), current).events[0]?.type).toBe(
      'order.placed',
    );
  });

  it('one event per record of a multi-record change; gap events ask for a re-read; wildcard ids are skipped', () => {
    const two = toId18('5005g00000CASE2') as string;
    const many = normaliseChangeEvent(ORG, 'c', cdc('Case', 'UPDATE', { Status: 'Closed' }, { recordIds: [CASE, two, '500*'] }), eventMap);
    expect(many.events.map((e) => e.object?.id)).toEqual([`${ORG}:${CASE}`, `${ORG}:${two}`]);
    expect(new Set(many.events.map((e) => e.id)).size).toBe(2);
    const gap = normaliseChangeEvent(ORG, 'c', cdc('Case', 'GAP_UPDATE', {}), eventMap);
    expect(gap).toEqual({ events: [], unmapped: [], gaps: [{ entityName: 'Case', recordId: CASE }] });
  });

  it('recognises echoes of our own writes from changeOrigin', () => {
    expect(isEcho({ changeOrigin: 'com/salesforce/api/rest/60.0;client=signalbox' }, 'signalbox')).toBe(true);
    expect(isEcho({ changeOrigin: 'com/salesforce/api/rest/60.0;client=signalbox-2' }, 'signalbox')).toBe(false);
    expect(isEcho({ changeOrigin: '' }, 'signalbox')).toBe(false);
  });

  it('maps Outbound Message notifications, one event each, keyed by notification id', () => {
    const contact = toId18('0035g00000PQRST') as string;
    const msg = parseOutboundMessage(
      outboundEnvelope({
        organizationId: ORG,
        actionId: toId18('04k5g000000XYZ1') as string,
        sObjectType: 'Contact',
        notifications: [
          {
            id: toId18('04l5g00000AAAA1') as string,
            fields: { Id: contact, LastModifiedDate: '2026-11-23T08:59:00.000Z', MobilePhone: '+15550100' },
          },
        ],
      }),
    );
    const out = normaliseOutboundMessage(msg, eventMap, '2026-11-23T09:00:00.000Z');
    expect(out.events).toEqual([
      expect.objectContaining({
        id: `salesforce:${ORG}:om:${toId18('04l5g00000AAAA1')}`,
        type: 'contact.updated',
        occurredAt: '2026-11-23T08:59:00.000Z',
        object: { type: 'salesforce.Contact', id: `${ORG}:${contact}` },
      }),
    ]);
  });
});
