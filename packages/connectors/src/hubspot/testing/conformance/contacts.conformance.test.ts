/**
 * The fake HubSpot held to HubSpot's answers (operations.ts, shapes.ts): contacts: get, page, update, search
 * (and its per-second limit), batch read (207) and batch upsert. Each `it` is one check of
 * specs/CONFORMANCE.md: the call goes through the real SDK (our gateway and HubspotCrm where
 * Signalbox makes it) and a recording proxy, and the answer must be one HubSpot could give.
 */
import { describe, expect, it } from 'vitest';
import type { Exchange } from '../recording-proxy.js';
import { body, conforms, fake, installed, PORTAL, proxy, settle, T0, useHarness } from './harness.js';

useHarness();

describe('contacts', () => {
  it('GET by id (HubspotCrm.getContact)', async () => {
    const { crm } = await installed();
    expect((await crm.getContact(PORTAL, '901'))?.properties.email).toBe('amina@example.com');
    conforms(proxy.last('GET', '/crm/v3/objects/contacts/901'), 'contacts-v3');
  });

  it('GET an unknown id: 404 OBJECT_NOT_FOUND', async () => {
    const { crm } = await installed();
    expect(await crm.getContact(PORTAL, '404')).toBeNull();
    const ex = proxy.last('GET', '/crm/v3/objects/contacts/404');
    expect(ex.status).toBe(404);
    conforms(ex, 'contacts-v3');
  });

  it('GET a page (HubspotCrm.contactsPage) with paging', async () => {
    fake.seedContacts(PORTAL, 150);
    const { crm } = await installed();
    expect((await crm.contactsPage(PORTAL, undefined)).next).toBe('100');
    conforms(proxy.last('GET', '/crm/v3/objects/contacts'), 'contacts-v3');
  });

  it('PATCH (HubspotCrm.updateContact) a property the portal has', async () => {
    const { crm } = await installed();
    await crm.ensureProperties(PORTAL);
    await crm.updateContact(PORTAL, '901', { signalbox_last_decision: 'sms: service', firstname: 'Amina' });
    conforms(proxy.last('PATCH', '/crm/v3/objects/contacts/901'), 'contacts-v3');
  });

  it('PATCH a property that does not exist: 400 PROPERTY_DOESNT_EXIST', async () => {
    const { crm } = await installed();
    await expect(crm.updateContact(PORTAL, '901', { favourite_colour: 'teal' })).rejects.toMatchObject({ status: 400 });
    const ex = proxy.last('PATCH', '/crm/v3/objects/contacts/901');
    conforms(ex, 'contacts-v3');
    expect(body(ex)).toMatchObject({ category: 'VALIDATION_ERROR' });
    expect(body(ex).errors?.[0]).toMatchObject({ code: 'PROPERTY_DOESNT_EXIST', context: { propertyName: ['favourite_colour'] } });
  });

  it('PATCH an unknown id: 404', async () => {
    const { crm } = await installed();
    await expect(crm.updateContact(PORTAL, '404', { firstname: 'X' })).rejects.toMatchObject({ status: 404 });
    conforms(proxy.last('PATCH', '/crm/v3/objects/contacts/404'), 'contacts-v3');
  });

  it('POST search (HubspotCrm.modifiedSince) with total and paging', async () => {
    const { crm } = await installed();
    await crm.modifiedSince(PORTAL, T0 - 1000, undefined);
    const ex = proxy.last('POST', '/crm/v3/objects/contacts/search');
    conforms(ex, 'contacts-v3');
    expect(body(ex).total).toBe(2);
  });

  it('POST search with six filter groups: 400', async () => {
    const { client } = await installed();
    const group = { filters: [{ propertyName: 'email', operator: 'HAS_PROPERTY' as never }] };
    await settle(client.crm.contacts.searchApi.doSearch({ filterGroups: Array.from({ length: 6 }, () => group) }));
    const ex = proxy.last('POST', '/crm/v3/objects/contacts/search');
    expect(ex.status).toBe(400);
    conforms(ex, 'contacts-v3');
  });

  it("POST search past the per-second limit: 429 with policyName SECONDLY (HubSpot's published body)", async () => {
    const { client } = await installed();
    await Promise.all(Array.from({ length: 6 }, () => settle(client.crm.contacts.searchApi.doSearch({ limit: 1 }))));
    const limited = proxy.exchanges.filter((e) => e.path === '/crm/v3/objects/contacts/search' && e.status === 429);
    expect(limited.length).toBe(2);
    const ex = limited[0] as Exchange;
    conforms(ex, 'contacts-v3');
    expect(body(ex)).toMatchObject({ policyName: 'SECONDLY', message: 'You have reached your secondly limit.' });
  });

  it('POST batch/read, every id found: 200', async () => {
    const { client } = await installed();
    await client.crm.contacts.batchApi.read({ inputs: [{ id: '901' }, { id: '902' }], properties: ['email'], propertiesWithHistory: [] });
    const ex = proxy.last('POST', '/crm/v3/objects/contacts/batch/read');
    expect(ex.status).toBe(200);
    conforms(ex, 'contacts-v3');
  });

  it('POST batch/read with ids that do not exist: 207 with errors[] naming them', async () => {
    const { client } = await installed();
    await settle(
      client.crm.contacts.batchApi.read({
        inputs: [{ id: '901' }, { id: '7777' }, { id: '8888' }],
        properties: [],
        propertiesWithHistory: [],
      }),
    );
    const ex = proxy.last('POST', '/crm/v3/objects/contacts/batch/read');
    expect(ex.status).toBe(207);
    conforms(ex, 'contacts-v3');
    expect(body(ex)).toMatchObject({ status: 'COMPLETE', numErrors: 1 });
    expect(body(ex).errors?.[0]).toMatchObject({ status: 'error', category: 'OBJECT_NOT_FOUND', context: { ids: ['7777', '8888'] } });
    expect((body(ex).results as unknown[]).length).toBe(1);
  });

  it('POST batch/read of 101 inputs: 400', async () => {
    const { client } = await installed();
    await settle(
      client.crm.contacts.batchApi.read({
        inputs: Array.from({ length: 101 }, (_, i) => ({ id: String(i + 1) })),
        properties: [],
        propertiesWithHistory: [],
      }),
    );
    const ex = proxy.last('POST', '/crm/v3/objects/contacts/batch/read');
    expect(ex.status).toBe(400);
    conforms(ex, 'contacts-v3');
  });

  it('POST batch/upsert by email: 200, each result says whether it is new', async () => {
    const { client } = await installed();
    await client.crm.contacts.batchApi.upsert({
      inputs: [
        { id: 'amina@example.com', idProperty: 'email', properties: { firstname: 'Amina W.' } },
        { id: 'new@example.com', idProperty: 'email', properties: { firstname: 'New' } },
      ],
    });
    const ex = proxy.last('POST', '/crm/v3/objects/contacts/batch/upsert');
    conforms(ex, 'contacts-v3');
    expect((body(ex).results as Array<{ new: boolean }>).map((r) => r.new).sort()).toEqual([false, true]);
  });

  it('POST batch/upsert with a property that does not exist: 400 PROPERTY_DOESNT_EXIST', async () => {
    const { client } = await installed();
    await settle(
      client.crm.contacts.batchApi.upsert({ inputs: [{ id: 'amina@example.com', idProperty: 'email', properties: { shoe_size: '41' } }] }),
    );
    const ex = proxy.last('POST', '/crm/v3/objects/contacts/batch/upsert');
    expect(ex.status).toBe(400);
    conforms(ex, 'contacts-v3');
    expect(body(ex).errors?.[0]).toMatchObject({ code: 'PROPERTY_DOESNT_EXIST' });
  });
});
