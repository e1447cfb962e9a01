/**
 * The fake HubSpot held to HubSpot's answers (operations.ts, shapes.ts): property groups and properties, and
 * workflow action callbacks (completed once, refused when expired, repeated, unknown or off the
 * declared options). Each `it` is one check of specs/CONFORMANCE.md: the call goes through the
 * real SDK (our gateway and HubspotCrm where Signalbox makes it) and a recording proxy, and the
 * answer must be one HubSpot could give.
 */
import { describe, expect, it } from 'vitest';
import type { Exchange } from '../recording-proxy.js';
import { body, conforms, fake, installed, PORTAL, proxy, settle, useHarness } from './harness.js';

useHarness();

describe('properties and groups', () => {
  it('POST the signalbox group (HubspotCrm.ensureProperties): 201', async () => {
    const { crm } = await installed();
    await crm.ensureProperties(PORTAL);
    conforms(proxy.exchanges.find((e) => e.path === '/crm/v3/properties/contacts/groups') as Exchange, 'properties-v3');
  });

  it('POST the group again: 409', async () => {
    const { crm } = await installed();
    await crm.ensureProperties(PORTAL);
    await crm.ensureProperties(PORTAL);
    const ex = proxy.last('POST', '/crm/v3/properties/contacts/groups');
    expect(ex.status).toBe(409);
    conforms(ex, 'properties-v3');
  });

  it('GET the group by name', async () => {
    const { crm, client } = await installed();
    await crm.ensureProperties(PORTAL);
    await client.crm.properties.groupsApi.getByName('contacts', 'signalbox');
    conforms(proxy.last('GET', '/crm/v3/properties/contacts/groups/signalbox'), 'properties-v3');
  });

  it('POST a property (HubspotCrm.ensureProperties): 201 Property', async () => {
    const { crm } = await installed();
    await crm.ensureProperties(PORTAL);
    conforms(proxy.exchanges.find((e) => e.path === '/crm/v3/properties/contacts' && e.status < 300) as Exchange, 'properties-v3');
  });

  it('POST the property again: 409', async () => {
    const { crm } = await installed();
    await crm.ensureProperties(PORTAL);
    await crm.ensureProperties(PORTAL);
    const ex = proxy.last('POST', '/crm/v3/properties/contacts');
    expect(ex.status).toBe(409);
    conforms(ex, 'properties-v3');
  });

  it('GET a property by name', async () => {
    const { crm, client } = await installed();
    await crm.ensureProperties(PORTAL);
    await client.crm.properties.coreApi.getByName('contacts', 'signalbox_last_decision');
    conforms(proxy.last('GET', '/crm/v3/properties/contacts/signalbox_last_decision'), 'properties-v3');
  });

  it('POST a property into a group that does not exist: 400', async () => {
    const { client } = await installed();
    await settle(
      client.crm.properties.coreApi.create('contacts', {
        name: 'orphan',
        label: 'Orphan',
        type: 'string' as never,
        fieldType: 'text' as never,
        groupName: 'no_such_group',
      }),
    );
    const ex = proxy.last('POST', '/crm/v3/properties/contacts');
    expect(ex.status).toBe(400);
    conforms(ex, 'properties-v3');
  });

  it('POST a property without crm.schemas.contacts.write: 403 MISSING_SCOPES', async () => {
    const { crm } = await installed({ scopes: ['oauth', 'crm.objects.contacts.read', 'crm.objects.contacts.write'] });
    await expect(crm.ensureProperties(PORTAL)).rejects.toMatchObject({ status: 403 });
    const ex = proxy.last('POST', '/crm/v3/properties/contacts/groups');
    conforms(ex, 'properties-v3');
    expect(body(ex).errors?.[0]).toMatchObject({ context: { requiredGranularScopes: ['crm.schemas.contacts.write'] } });
  });
});

describe('workflow action callbacks', () => {
  const definition = {
    outputFields: [
      { typeDefinition: { name: 'channel', type: 'string' } },
      {
        typeDefinition: {
          name: 'outcome',
          type: 'enumeration',
          options: [{ value: 'sent' }, { value: 'failed' }, { value: 'suppressed' }],
        },
      },
      { typeDefinition: { name: 'cost', type: 'number' } },
    ],
  };
  const issue = (id: string) => {
    fake.defineAction(10860211, definition);
    fake.issueCallback(PORTAL, id, { definitionId: 10860211 });
  };
  const path = (id: string) => `/automation/v4/actions/callbacks/${id}/complete`;

  it('complete a blocked execution (HubspotCrm.completeCallback): 204, no body', async () => {
    const { crm } = await installed();
    issue('cb-1');
    await crm.completeCallback(PORTAL, 'cb-1', { hs_execution_state: 'SUCCESS', channel: 'sms', outcome: 'sent', cost: '0.008' });
    const ex = proxy.last('POST', path('cb-1'));
    expect(ex.status).toBe(204);
    conforms(ex, 'actions-v4');
    expect(fake.portal(PORTAL).completedCallbacks.get('cb-1')).toMatchObject({ outcome: 'sent' });
  });

  it('complete it a second time: refused', async () => {
    const { crm } = await installed();
    issue('cb-2');
    await crm.completeCallback(PORTAL, 'cb-2', { hs_execution_state: 'SUCCESS' });
    await expect(crm.completeCallback(PORTAL, 'cb-2', { hs_execution_state: 'SUCCESS' })).rejects.toMatchObject({ status: 400 });
    conforms(proxy.last('POST', path('cb-2')), 'actions-v4');
  });

  it('complete an execution that has expired: refused', async () => {
    const { crm } = await installed();
    issue('cb-3');
    fake.expireCallback('cb-3');
    await expect(crm.completeCallback(PORTAL, 'cb-3', { hs_execution_state: 'SUCCESS' })).rejects.toMatchObject({ status: 400 });
    const ex = proxy.last('POST', path('cb-3'));
    conforms(ex, 'actions-v4');
    expect(body(ex).message).toMatch(/expired/);
  });

  it('complete with an output value outside the declared options: refused, naming the field', async () => {
    const { crm } = await installed();
    issue('cb-4');
    await expect(crm.completeCallback(PORTAL, 'cb-4', { hs_execution_state: 'SUCCESS', outcome: 'teleported' })).rejects.toMatchObject({
      status: 400,
    });
    const ex = proxy.last('POST', path('cb-4'));
    conforms(ex, 'actions-v4');
    expect(body(ex).message).toMatch(/outcome/);
    expect(fake.portal(PORTAL).completedCallbacks.has('cb-4')).toBe(false);
  });

  it('complete an execution HubSpot never started: 404', async () => {
    const { crm } = await installed();
    await expect(crm.completeCallback(PORTAL, 'cb-never', { hs_execution_state: 'SUCCESS' })).rejects.toMatchObject({ status: 404 });
    conforms(proxy.last('POST', path('cb-never')), 'actions-v4');
  });

  it('complete without the automation scope: 403 MISSING_SCOPES', async () => {
    const { client } = await installed({ scopes: ['oauth', 'crm.objects.contacts.read'] });
    issue('cb-5');
    await settle(client.automation.actions.callbacksApi.complete('cb-5', { outputFields: { hs_execution_state: 'SUCCESS' } }));
    const ex = proxy.last('POST', path('cb-5'));
    expect(ex.status).toBe(403);
    conforms(ex, 'actions-v4');
  });
});
