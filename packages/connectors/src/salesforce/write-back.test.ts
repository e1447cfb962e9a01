/** Write-back through real jsforce against the fake: Tasks upserted on our external id, fields, consent. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { connectedGateway } from './testing/connect.js';
import { FakeSalesforce } from './testing/fake-salesforce.js';
import { type MessageLogEntry, SalesforceWriteBack, taskFor } from './write-back.js';

let fake: FakeSalesforce;
let orgId: string;
let contact: string;
beforeEach(async () => {
  fake = new FakeSalesforce();
  await fake.start();
  orgId = fake.org().id;
  contact = String(fake.userCreates(orgId, 'Contact', { LastName: 'Wanjiru' }).Id);
});
afterEach(() => fake.stop());

const entry = (i: number, who: string): MessageLogEntry => ({
  messageId: `01JD${String(i).padStart(22, '0')}`,
  whoId: who,
  channel: 'sms',
  outcome: 'delivered',
  cost: 0.008,
  reason: 'transactional: sms first (cheapest), consent granted',
  label: 'invoice_friendly',
  at: '2026-11-23T07:00:00.000Z',
});
const tasks = () => [...fake.org(orgId).table('Task').rows.values()];

describe('Salesforce write-back', () => {
  it('logs a message as one completed Task however often it is retried', async () => {
    const wb = new SalesforceWriteBack((await connectedGateway(fake, orgId)).gateway);
    const [first] = await wb.logMessages(orgId, [entry(1, contact)]);
    expect(first).toMatchObject({ created: true, error: null });
    const [again] = await wb.logMessages(orgId, [{ ...entry(1, contact), outcome: 'read' }]);
    expect(again).toMatchObject({ id: first?.id, created: false, error: null });
    expect(tasks()).toHaveLength(1);
    expect(tasks()[0]).toMatchObject({
      Status: 'Completed',
      ActivityDate: '2026-11-23',
      WhoId: contact,
      Subject: 'SMS · invoice_friendly · read',
      Signalbox_Cost__c: 0.008,
    });
    expect(String(tasks()[0]?.Description)).toContain('Decision: transactional: sms first');
  });

  it('splits 450 messages into collections of 200 and reports a bad one without failing the rest', async () => {
    const wb = new SalesforceWriteBack((await connectedGateway(fake, orgId)).gateway);
    const list = Array.from({ length: 450 }, (_, i) => entry(i, contact));
    list[7] = { ...(list[7] as MessageLogEntry), whoId: '0035g0000000zzzAAA' };
    const out = await wb.logMessages(orgId, list);
    expect(out).toHaveLength(450);
    expect(out.filter((o) => o.error === null)).toHaveLength(449);
    expect(out[7]?.error?.code).toBe('INVALID_CROSS_REFERENCE_KEY');
    expect(fake.log.filter((l) => l.path.endsWith('/composite/sobjects/Task/Signalbox_Message_Id__c')).length).toBe(3);
    expect(tasks()).toHaveLength(449);
  });

  it('refuses a collection over 200 records as Salesforce does (the fake holds the cap)', async () => {
    const { gateway } = await connectedGateway(fake, orgId);
    const records = Array.from({ length: 201 }, (_, i) => taskFor(entry(i, contact)));
    await expect(
      gateway.call(orgId, async (c) => c.sobject('Task').upsert(records as never[], 'Signalbox_Message_Id__c')),
    ).rejects.toMatchObject({ errorCode: 'EXCEEDED_ID_LIMIT' });
  });

  it('writes the Signalbox fields, and fails clearly where the metadata was not deployed', async () => {
    const wb = new SalesforceWriteBack((await connectedGateway(fake, orgId)).gateway);
    const values = {
      preferredChannel: 'whatsapp',
      reachableChannels: ['whatsapp', 'sms'],
      consentSummary: 'sms: marketing revoked',
      lastDecisionReason: 'suppressed: open ticket',
      messages30d: 4,
      cost30d: 0.0321,
    };
    expect(await wb.updateFields(orgId, [{ type: 'Contact', id: contact, values }])).toMatchObject([{ error: null }]);
    expect(fake.org(orgId).get('Contact', contact)).toMatchObject({
      Signalbox_Preferred_Channel__c: 'whatsapp',
      Signalbox_Reachable_Channels__c: 'whatsapp;sms',
      Signalbox_Messages_30d__c: 4,
    });
    const bare = fake.org(undefined, { signalboxFields: false }).id;
    const c2 = String(fake.userCreates(bare, 'Contact', { LastName: 'X' }).Id);
    const wb2 = new SalesforceWriteBack((await connectedGateway(fake, bare)).gateway);
    await expect(wb2.updateFields(bare, [{ type: 'Contact', id: c2, values }])).rejects.toMatchObject({ errorCode: 'INVALID_FIELD' });
  });

  it('writes consent back: the opt-out flag, and a ContactPointTypeConsent where the org has the purpose', async () => {
    const wb = new SalesforceWriteBack((await connectedGateway(fake, orgId)).gateway);
    const ind = String(fake.userCreates(orgId, 'Individual', { LastName: 'W' }).Id);
    fake.userCreates(orgId, 'DataUsePurpose', { Name: 'Marketing' });
    fake.userCreates(orgId, 'EngagementChannelType', { Name: 'sms' });
    const r = await wb.writeConsent(
      orgId,
      { type: 'Contact', id: contact, individualId: ind },
      { channel: 'email', purpose: 'marketing', status: 'revoked', at: '2026-11-23T08:00:00.000Z', source: 'keyword' },
    );
    expect(r.flags?.error).toBeNull();
    expect(fake.org(orgId).get('Contact', contact)?.HasOptedOutOfEmail).toBe(true);
    expect(r.contactPoint?.error).toBeNull();
    const sms = await wb.writeConsent(
      orgId,
      { type: 'Contact', id: contact, individualId: ind },
      { channel: 'sms', purpose: 'marketing', status: 'revoked', at: '2026-11-23T08:00:00.000Z', source: 'keyword' },
    );
    expect(sms.flags).toBeNull();
    const rows = [...fake.org(orgId).table('ContactPointTypeConsent').rows.values()];
    expect(rows.map((x) => [x.ContactPointType, x.PrivacyConsentStatus, x.EngagementChannelTypeId !== undefined])).toEqual([
      ['Email', 'OptOut', false],
      ['Phone', 'OptOut', true],
    ]);
    const service = await wb.writeConsent(
      orgId,
      { type: 'Contact', id: contact, individualId: ind },
      { channel: 'sms', purpose: 'service', status: 'granted', at: '2026-11-23T08:00:00.000Z', source: 'agent' },
    );
    expect(service.skipped).toMatch(/no DataUsePurpose/);
  });
});
