import { DEFAULT_RULESET, loadRuleset } from '@signalbox/engine';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { CrmPayloadError } from '../errors.js';
import { hubspotWebhookEventSchema, looksValid, MAX_EVENTS_PER_REQUEST, parseHubspotWebhookBatch } from './webhook-events.js';

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
  it('reads the developer platform’s generic object.* subscriptions by object type id', () => {
    const e = { ...base, eventId: 11, occurredAt: 1717000000000, subscriptionType: 'object.creation', objectTypeId: '0-5', objectId: 5 };
    const { events } = parseHubspotWebhookBatch([e], eventMap);
    expect(events.map((x) => [x.type, x.object?.type])).toEqual([['ticket.opened', 'hubspot.ticket']]);
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
    // a time no date can hold is refused at the door, not accepted and then dead in the worker
    for (const occurredAt of [8_640_000_000_000_001, 253_402_300_800_000]) {
      const bad = [{ ...base, eventId: 2, occurredAt, subscriptionType: 'contact.creation', objectId: 1 }];
      expect(looksValid(bad)).toBe(false);
      expect(() => parseHubspotWebhookBatch(bad, eventMap)).toThrow(
        expect.objectContaining({ problems: [expect.objectContaining({ path: '/0/occurredAt' })] }),
      );
    }
    const last = parseHubspotWebhookBatch(
      [{ ...base, eventId: 3, occurredAt: 253_402_300_799_999, subscriptionType: 'contact.creation', objectId: 1 }],
      eventMap,
    );
    expect(last.events[0]?.occurredAt).toBe('9999-12-31T23:59:59.999Z');
  });
  it('the fast check accepts exactly what the schema accepts (5,000 generated deliveries)', () => {
    const schema = z.array(hubspotWebhookEventSchema).min(1).max(MAX_EVENTS_PER_REQUEST);
    const values: unknown[] = [
      1,
      -1,
      1.5,
      0,
      'x',
      '',
      null,
      true,
      [],
      {},
      [1, 'a'],
      [1, 2],
      'contact.creation',
      'Contact.creation',
      'a.b.c',
      2 ** 60,
      253_402_300_800_000,
    ];
    const fields = [
      'eventId',
      'subscriptionId',
      'portalId',
      'appId',
      'occurredAt',
      'subscriptionType',
      'attemptNumber',
      'objectId',
      'propertyName',
      'propertyValue',
      'changeFlag',
      'changeSource',
      'primaryObjectId',
      'mergedObjectIds',
      'objectTypeId',
    ];
    let seed = 7;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const valid = () => ({
      ...base,
      eventId: rnd(1000),
      occurredAt: 1717000000000,
      subscriptionType: 'contact.propertyChange',
      objectId: rnd(1000),
      propertyName: 'phone',
      propertyValue: '+1',
    });
    let agreed = 0;
    for (let i = 0; i < 5000; i++) {
      const batch: Array<Record<string, unknown>> = Array.from({ length: 1 + rnd(3) }, valid);
      const mutations = rnd(3);
      for (let m = 0; m < mutations; m++) {
        const e = batch[rnd(batch.length)] as Record<string, unknown>;
        const f = fields[rnd(fields.length)] as string;
        if (rnd(5) === 0) delete e[f];
        else e[f] = values[rnd(values.length)];
      }
      const input: unknown = rnd(50) === 0 ? {} : rnd(50) === 0 ? [] : batch;
      expect(looksValid(input)).toBe(schema.safeParse(input).success);
      agreed++;
    }
    expect(agreed).toBe(5000);
  });
});
