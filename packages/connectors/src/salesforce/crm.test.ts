/** CRM reads through real jsforce against the fake: records, associations, SOQL paging, incremental sync, consent. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SalesforceCrm } from './crm.js';
import { toId18 } from './ids.js';
import { consentFromFlags, identitiesOf, isoInstant, profileOf } from './records.js';
import { connectedGateway } from './testing/connect.js';
import { FakeSalesforce } from './testing/fake-salesforce.js';

let fake: FakeSalesforce;
let orgId: string;
let now = Date.parse('2026-11-23T09:00:00Z');
beforeEach(async () => {
  now = Date.parse('2026-11-23T09:00:00Z');
  fake = new FakeSalesforce({ now: () => now });
  await fake.start();
  orgId = fake.org().id;
});
afterEach(() => fake.stop());

describe('Salesforce CRM reads', () => {
  it('reads a Contact into identities, market, time zone and opt-out consent; unknown ids are null', async () => {
    const crm = new SalesforceCrm((await connectedGateway(fake, orgId)).gateway);
    const c = fake.userCreates(orgId, 'Contact', {
      LastName: 'Wanjiru',
      Email: 'Ana.W@Example.COM',
      MobilePhone: '+254 711 000-001',
      HasOptedOutOfEmail: true,
      MailingCountryCode: 'KE',
      Signalbox_Time_Zone__c: 'Africa/Nairobi',
    });
    const p = await crm.getPerson(orgId, 'Contact', String(c.Id));
    expect(p).not.toBeNull();
    if (p === null) return;
    expect(identitiesOf(p)).toEqual([
      { kind: 'salesforce', value: `${orgId}:${c.Id}` },
      { kind: 'email', value: 'ana.w@example.com' },
      { kind: 'phone', value: '+254711000001' },
    ]);
    expect(profileOf(p, crm.timeZoneField)).toEqual({ market: 'KE', timezone: 'Africa/Nairobi' });
    expect(p.modifiedAt).toBe(isoInstant(c.SystemModstamp));
    expect(consentFromFlags(p, '2026-11-23T09:00:00.000Z').map((r) => `${r.channel}/${r.purpose}/${r.status}`)).toEqual([
      'email/marketing/revoked',
      'email/service/revoked',
    ]);
    expect(await crm.getPerson(orgId, 'Contact', '003000000000000AAA')).toBeNull();
    expect(await crm.getPerson(orgId, 'Contact', 'not-an-id')).toBeNull();
  });

  it('finds the people behind a Case and an Opportunity (contact roles, primary first, else its contact)', async () => {
    const crm = new SalesforceCrm((await connectedGateway(fake, orgId)).gateway);
    const a = String(fake.userCreates(orgId, 'Contact', { LastName: 'A' }).Id);
    const b = String(fake.userCreates(orgId, 'Contact', { LastName: 'B' }).Id);
    const kase = String(fake.userCreates(orgId, 'Case', { ContactId: a, Subject: 'Refund' }).Id);
    expect(await crm.contactsOf(orgId, 'Case', kase)).toEqual([{ type: 'Contact', id: a }]);
    const opp = String(
      fake.userCreates(orgId, 'Opportunity', { Name: 'Deal', StageName: 'Prospecting', CloseDate: '2026-12-01', ContactId: a }).Id,
    );
    expect(await crm.contactsOf(orgId, 'Opportunity', opp)).toEqual([{ type: 'Contact', id: a }]);
    fake.userCreates(orgId, 'OpportunityContactRole', { OpportunityId: opp, ContactId: a, IsPrimary: false });
    fake.userCreates(orgId, 'OpportunityContactRole', { OpportunityId: opp, ContactId: b, IsPrimary: true });
    expect(await crm.contactsOf(orgId, 'Opportunity', opp)).toEqual([
      { type: 'Contact', id: b },
      { type: 'Contact', id: a },
    ]);
    expect(await crm.contactsOf(orgId, 'Lead', '00Q5g0000000001')).toEqual([{ type: 'Lead', id: toId18('00Q5g0000000001') }]);
  });

  it('pages people with nextRecordsUrl and resumes from a stored cursor even after the locator expired', async () => {
    fake.seedContacts(orgId, 5000);
    const crm = new SalesforceCrm((await connectedGateway(fake, orgId)).gateway, { batchSize: 2000 });
    const first = await crm.peoplePage(orgId, 'Contact', null);
    expect(first.people).toHaveLength(2000);
    expect(first.next?.nextRecordsUrl).toMatch(/^\/services\/data\/v60\.0\/query\/01g[0-9A-F]+-2000$/);
    const second = await crm.peoplePage(orgId, 'Contact', first.next);
    expect(second.people[0]?.fields.LastName).toBe('N2001');
    // the process crashed; 20 minutes later the stored locator is no longer valid
    now += 20 * 60_000;
    const third = await crm.peoplePage(orgId, 'Contact', second.next);
    expect(third.people.map((p) => p.fields.LastName)).toEqual(Array.from({ length: 1000 }, (_, i) => `N${4001 + i}`));
    expect(third.next).toBeNull();
    expect(fake.log.some((l) => l.status === 400 && l.path.includes('/query/01g'))).toBe(true);
  });

  it('syncs incrementally by SystemModstamp without skipping records that share a stamp', async () => {
    fake.seedContacts(orgId, 100);
    const crm = new SalesforceCrm((await connectedGateway(fake, orgId)).gateway);
    const start = { since: new Date(now + 1000).toISOString(), lastId: null }; // after the seed
    expect((await crm.modifiedSince(orgId, 'Contact', start)).people).toEqual([]);
    now += 60_000;
    const ids = ['5', '17', '42'].map((n) => `N${n}`);
    const seeded = (await crm.peoplePage(orgId, 'Contact', null)).people.filter((p) => ids.includes(String(p.fields.LastName)));
    for (const p of seeded) fake.userUpdates(orgId, 'Contact', p.id, { FirstName: 'Changed' });
    const page = await crm.modifiedSince(orgId, 'Contact', start, 2);
    expect(page.people.map((p) => p.fields.LastName)).toEqual(['N5', 'N17']);
    const rest = await crm.modifiedSince(orgId, 'Contact', page.next, 2);
    expect(rest.people.map((p) => p.fields.LastName)).toEqual(['N42']);
    fake.org(orgId).delete('Contact', seeded[0]?.id as string, { api: 'ui' });
    const deleted = await crm.modifiedSince(orgId, 'Contact', rest.next);
    expect(deleted.people.map((p) => [p.fields.LastName, p.deleted])).toEqual([['N5', true]]);
  });

  it('reads consent from ContactPointTypeConsent and ContactPointConsent, and skips orgs without them', async () => {
    const crm = new SalesforceCrm((await connectedGateway(fake, orgId)).gateway);
    const ind = String(fake.userCreates(orgId, 'Individual', { LastName: 'W' }).Id);
    const marketing = String(fake.userCreates(orgId, 'DataUsePurpose', { Name: 'Marketing' }).Id);
    const sms = String(fake.userCreates(orgId, 'EngagementChannelType', { Name: 'SMS' }).Id);
    const base = { CaptureDate: '2026-01-01T00:00:00Z', CaptureSource: 'Web form', CaptureContactPointType: 'Phone' };
    fake.userCreates(orgId, 'ContactPointTypeConsent', {
      ...base,
      Name: 'sms mkt',
      PartyId: ind,
      ContactPointType: 'Phone',
      DataUsePurposeId: marketing,
      EngagementChannelTypeId: sms,
      PrivacyConsentStatus: 'OptIn',
    });
    fake.userCreates(orgId, 'ContactPointTypeConsent', {
      ...base,
      Name: 'phone all',
      PartyId: ind,
      ContactPointType: 'Phone',
      PrivacyConsentStatus: 'OptOut',
      EffectiveTo: '2025-01-01T00:00:00Z',
    });
    const phone = String(fake.userCreates(orgId, 'ContactPointPhone', { ParentId: ind, TelephoneNumber: '+254711000001' }).Id);
    fake.userCreates(orgId, 'ContactPointConsent', { ...base, Name: 'calls', ContactPointId: phone, PrivacyConsentStatus: 'OptOut' });
    const c = String(fake.userCreates(orgId, 'Contact', { LastName: 'W', IndividualId: ind }).Id);
    const p = await crm.getPerson(orgId, 'Contact', c);
    const { byPerson } = await crm.consentOf(orgId, p ? [p] : [], now);
    expect((byPerson.get(c) ?? []).map((r) => `${r.channel}/${r.purpose}/${r.status}`).sort()).toEqual([
      'sms/*/revoked',
      'sms/marketing/granted',
      'voice/*/revoked',
      'whatsapp/*/revoked',
    ]);

    const plain = fake.org(undefined, { consentObjects: false }).id;
    const crm2 = new SalesforceCrm((await connectedGateway(fake, plain)).gateway);
    const q = String(fake.userCreates(plain, 'Contact', { LastName: 'Q' }).Id);
    const person = await crm2.getPerson(plain, 'Contact', q);
    if (person) person.fields.IndividualId = toId18('0PK5g0000000001');
    expect((await crm2.consentOf(plain, person ? [person] : [], now)).byPerson.size).toBe(0);
  });
});
