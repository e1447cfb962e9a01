/**
 * The fake HubSpot held to HubSpot's answers (operations.ts, shapes.ts): tickets, deals and invoices with
 * their contacts (and a declined scope), Communications and notes with associations. Each `it` is
 * one check of specs/CONFORMANCE.md: the call goes through the real SDK (our gateway and
 * HubspotCrm where Signalbox makes it) and a recording proxy, and the answer must be one HubSpot could
 * give.
 */
import { describe, expect, it } from 'vitest';

import { body, conforms, fake, installed, PORTAL, proxy, settle, T0, useHarness } from './harness.js';

useHarness();

describe('records with associations (tickets, deals, invoices)', () => {
  it('GET a ticket with its contacts (HubspotCrm.contactsOf)', async () => {
    fake.upsertObject(PORTAL, 'tickets', '555', { subject: 'Billing problem' }, ['901']);
    const { crm } = await installed();
    expect(await crm.contactsOf(PORTAL, 'tickets', '555')).toEqual(['901']);
    conforms(proxy.last('GET', '/crm/v3/objects/tickets/555'), 'tickets-v3');
  });

  it('GET a deal with its contacts', async () => {
    fake.upsertObject(PORTAL, 'deals', '610', { dealname: 'Solar kit' }, ['902']);
    const { crm } = await installed();
    expect(await crm.contactsOf(PORTAL, 'deals', '610')).toEqual(['902']);
    conforms(proxy.last('GET', '/crm/v3/objects/deals/610'), 'deals-v3');
  });

  it('GET an invoice with its contacts', async () => {
    fake.upsertObject(PORTAL, 'invoices', '777', { hs_invoice_status: 'overdue' }, ['902']);
    const { crm } = await installed();
    expect(await crm.contactsOf(PORTAL, 'invoices', '777')).toEqual(['902']);
    conforms(proxy.last('GET', '/crm/v3/objects/invoices/777'), 'invoices-v3');
  });

  it('GET an invoice when the install declined crm.objects.invoices.read: 403 MISSING_SCOPES', async () => {
    fake.upsertObject(PORTAL, 'invoices', '777', { hs_invoice_status: 'overdue' }, ['902']);
    const { crm } = await installed({ decline: ['crm.objects.invoices.read'] });
    await expect(crm.contactsOf(PORTAL, 'invoices', '777')).rejects.toMatchObject({ status: 403, category: 'MISSING_SCOPES' });
    const ex = proxy.last('GET', '/crm/v3/objects/invoices/777');
    conforms(ex, 'invoices-v3');
    expect(body(ex)).toMatchObject({
      status: 'error',
      category: 'MISSING_SCOPES',
      links: { scopes: 'https://developers.hubspot.com/scopes' },
    });
    expect(body(ex).errors?.[0]).toMatchObject({ context: { requiredGranularScopes: ['crm.objects.invoices.read'] } });
  });

  it('GET a ticket that does not exist: 404', async () => {
    const { crm } = await installed();
    expect(await crm.contactsOf(PORTAL, 'tickets', '404')).toEqual([]);
    const ex = proxy.last('GET', '/crm/v3/objects/tickets/404');
    expect(ex.status).toBe(404);
    conforms(ex, 'tickets-v3');
  });
});

describe('timeline: communications and notes', () => {
  const smsTo = (contactId: string, typeId: number, props: Record<string, string> = {}) => ({
    properties: {
      hs_communication_channel_type: 'SMS',
      hs_communication_logged_from: 'CRM',
      hs_communication_body: 'Your order shipped',
      hs_timestamp: new Date(T0).toISOString(),
      ...props,
    },
    associations: [{ to: { id: contactId }, types: [{ associationCategory: 'HUBSPOT_DEFINED' as never, associationTypeId: typeId }] }],
  });

  it('POST a Communication associated to its contact (HubspotCrm.logMessage, sms): 201', async () => {
    const { crm } = await installed();
    const r = await crm.logMessage(PORTAL, { contactId: '902', channel: 'sms', body: 'Your order shipped', at: T0 });
    expect(fake.portal(PORTAL).objects.communications?.get(r.id)?.contacts).toEqual(['902']);
    conforms(proxy.last('POST', '/crm/v3/objects/communications'), 'communications-v3');
  });

  it('POST a Communication with association type 82 (contact→communication): 400 INVALID_ASSOCIATION_TYPE', async () => {
    const { client } = await installed();
    await settle(client.crm.objects.communications.basicApi.create(smsTo('902', 82)));
    const ex = proxy.last('POST', '/crm/v3/objects/communications');
    expect(ex.status).toBe(400);
    conforms(ex, 'communications-v3');
    expect(body(ex)).toMatchObject({ category: 'VALIDATION_ERROR', subCategory: 'crm.associations.INVALID_ASSOCIATION_TYPE' });
  });

  it('POST a Communication to a contact that does not exist: 400', async () => {
    const { crm } = await installed();
    await expect(crm.logMessage(PORTAL, { contactId: '999999', channel: 'sms', body: 'x', at: T0 })).rejects.toMatchObject({ status: 400 });
    conforms(proxy.last('POST', '/crm/v3/objects/communications'), 'communications-v3');
  });

  it('POST a Communication with a channel type HubSpot does not have: 400 INVALID_OPTION', async () => {
    const { client } = await installed();
    await settle(client.crm.objects.communications.basicApi.create(smsTo('902', 81, { hs_communication_channel_type: 'FAX' })));
    const ex = proxy.last('POST', '/crm/v3/objects/communications');
    expect(ex.status).toBe(400);
    conforms(ex, 'communications-v3');
    expect(body(ex).errors?.[0]).toMatchObject({ code: 'INVALID_OPTION' });
  });

  it('POST a Communication without crm.objects.contacts.write: 403 MISSING_SCOPES', async () => {
    const { client } = await installed({ scopes: ['oauth', 'crm.objects.contacts.read'] });
    await settle(client.crm.objects.communications.basicApi.create(smsTo('902', 81)));
    const ex = proxy.last('POST', '/crm/v3/objects/communications');
    expect(ex.status).toBe(403);
    conforms(ex, 'communications-v3');
  });

  it('POST a note associated to its contact (HubspotCrm.logMessage, voice): 201', async () => {
    const { crm } = await installed();
    expect((await crm.logMessage(PORTAL, { contactId: '902', channel: 'voice', body: 'Call placed', at: T0 })).kind).toBe('note');
    conforms(proxy.last('POST', '/crm/v3/objects/notes'), 'notes-v3');
  });

  it('POST a note with a property that does not exist: 400 PROPERTY_DOESNT_EXIST', async () => {
    const { client } = await installed();
    await settle(
      client.crm.objects.notes.basicApi.create({
        properties: { hs_note_body: 'x', hs_timestamp: new Date(T0).toISOString(), hs_note_mood: 'sunny' },
        associations: [],
      }),
    );
    const ex = proxy.last('POST', '/crm/v3/objects/notes');
    expect(ex.status).toBe(400);
    conforms(ex, 'notes-v3');
    expect(body(ex).errors?.[0]).toMatchObject({ code: 'PROPERTY_DOESNT_EXIST', context: { propertyName: ['hs_note_mood'] } });
  });
});
