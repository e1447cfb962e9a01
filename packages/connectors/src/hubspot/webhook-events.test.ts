import { DEFAULT_RULESET, loadRuleset } from '@signalbox/engine';
import { describe, expect, it } from 'vitest';
import { CrmPayloadError } from '../errors.js';
import { parseHubspotWebhookBatch } from './webhook-events.js';

const eventMap = loadRuleset(DEFAULT_RULESET).source.eventMap;
const base = { subscriptionId: 1, portalId: 62515, appId: 54321, attemptNumber: 0 };

describe('HubSpot webhook batch → CrmEvents (through the ruleset eventMap)', () => {
  it('maps ticket creation, a paid invoice and a closed-won deal; ignores unmapped; orders by occurredAt', () => {
    const { events, unmapped } = parseHubspotWebhookBatch(
      [
        {
          ...base,
          eventId: 3,
          occurredAt: 1717000003000,
          subscriptionType: 'invoice.propertyChange',
          objectId: 77,
          propertyName: 'hs_invoice_status',
          propertyValue: 'paid',
        },
        { ...base, eventId: 1, occurredAt: 1717000001000, subscriptionType: 'ticket.creation', objectId: 5, changeFlag: 'CREATED' },
        {
          ...base,
          eventId: 2,
          occurredAt: 1717000002000,
          subscriptionType: 'deal.propertyChange',
          objectId: 9,
          propertyName: 'dealstage',
          propertyValue: 'closedwon',
        },
        {
          ...base,
          eventId: 4,
          occurredAt: 1717000000000,
          subscriptionType: 'deal.propertyChange',
          objectId: 9,
          propertyName: 'amount',
          propertyValue: '10',
        },
      ],
      eventMap,
    );
    expect(events.map((e) => [e.type, e.object?.id])).toEqual([
      ['ticket.opened', '5'],
      ['order.placed', '9'],
      ['invoice.paid', '77'],
    ]);
    expect(events[0]).toMatchObject({
      id: 'hubspot:62515:1',
      source: 'hubspot',
      occurredAt: '2024-05-29T16:26:41.000Z',
      object: { type: 'hubspot.ticket', id: '5' },
    });
    expect(unmapped.map((u) => u.eventId)).toEqual([4]);
  });
  it('keeps one copy of an event repeated within a batch', () => {
    const e = { ...base, eventId: 9, occurredAt: 1717000000000, subscriptionType: 'contact.creation', objectId: 901 };
    expect(parseHubspotWebhookBatch([e, e, { ...e, attemptNumber: 1 }], eventMap).events).toHaveLength(1);
  });
  it('rejects malformed deliveries naming the path', () => {
    try {
      parseHubspotWebhookBatch(
        [{ ...base, eventId: 1, occurredAt: 'yesterday', subscriptionType: 'contact.creation', objectId: 1 }],
        eventMap,
      );
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(CrmPayloadError);
      expect((e as CrmPayloadError).problems[0]?.path).toBe('/0/occurredAt');
    }
    expect(() => parseHubspotWebhookBatch({ not: 'an array' }, eventMap)).toThrow(CrmPayloadError);
    expect(() => parseHubspotWebhookBatch([], eventMap)).toThrow(CrmPayloadError);
  });
});
