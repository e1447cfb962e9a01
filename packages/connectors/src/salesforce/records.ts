/**
 * Salesforce Contacts and Leads in our terms: identities (the record as `orgId:recordId`, e-mail in
 * lower case, phone in E.164), market and time zone, and consent records from the opt-out flags
 * and, where the org has Data Protection & Privacy, ContactPointTypeConsent / ContactPointConsent.
 */
import { type ConsentRecord, type Identity, PURPOSES, type Purpose } from '@signalbox/engine';

export type PersonType = 'Contact' | 'Lead';
export type FieldValue = string | number | boolean | null;

/** A Contact or Lead as read from Salesforce (REST, Bulk CSV, CDC or an Outbound Message). */
export interface SalesforcePerson {
  orgId: string;
  type: PersonType;
  id: string;
  fields: Record<string, FieldValue>;
  deleted: boolean;
  /** SystemModstamp (ISO, UTC), the incremental sync's cursor. */
  modifiedAt: string | null;
}

const COMMON = [
  'Id',
  'FirstName',
  'LastName',
  'Email',
  'Phone',
  'MobilePhone',
  'HasOptedOutOfEmail',
  'DoNotCall',
  'IndividualId',
  'SystemModstamp',
];

/** The fields we read of each person type (the time zone field is ours, shipped in the metadata). */
export function personFields(type: PersonType, timeZoneField: string | null): string[] {
  const extra = type === 'Contact' ? ['MailingCountryCode'] : ['CountryCode', 'IsConverted', 'ConvertedContactId'];
  return [...COMMON, ...extra, ...(timeZoneField ? [timeZoneField] : [])];
}

const BOOLEAN_FIELDS = new Set(['HasOptedOutOfEmail', 'DoNotCall', 'IsConverted', 'IsDeleted']);

/** Salesforce's datetimes come as `…+0000` (REST) or `…Z` (Bulk, CDC, SOAP): one ISO form. */
export function isoInstant(v: unknown): string | null {
  if (typeof v !== 'string' || v === '') return null;
  const ms = Date.parse(v.replace(/([+-]\d{2})(\d{2})$/, '$1:$2'));
  return Number.isNaN(ms) ? null : new Date(ms).toISOString();
}

/**
 * A person from any of Salesforce's shapes: REST records (typed JSON, `attributes`), Bulk CSV rows
 * (every value a string, null as ''), Outbound Message sObjects (strings).
 */
export function toPerson(orgId: string, type: PersonType, raw: Record<string, unknown>): SalesforcePerson {
  const fields: Record<string, FieldValue> = {};
  for (const [k, v] of Object.entries(raw)) {
    if (k === 'attributes') continue;
    if (v === '' || v === undefined || v === null) fields[k] = null;
    else if (BOOLEAN_FIELDS.has(k) && typeof v === 'string') fields[k] = v === 'true';
    else if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') fields[k] = v;
  }
  return { orgId, type, id: String(raw.Id), fields, deleted: fields.IsDeleted === true, modifiedAt: isoInstant(raw.SystemModstamp) };
}

/** `+254 711 000-001` → `+254711000001`; `00…` → `+…`; national numbers are left out (no country to assume). */
export function e164(phone: FieldValue | undefined): string | null {
  if (typeof phone !== 'string') return null;
  const s = phone.replace(/[\s().-]/g, '').replace(/^00/, '+');
  return /^\+[1-9]\d{6,14}$/.test(s) ? s : null;
}

/** Our identities of a person: always the record itself, keyed by org (ids are unique only within an org). */
export function identitiesOf(p: SalesforcePerson): Identity[] {
  const out: Identity[] = [{ kind: 'salesforce', value: `${p.orgId}:${p.id}` }];
  const email = p.fields.Email;
  if (typeof email === 'string' && email.includes('@')) out.push({ kind: 'email', value: email.trim().toLowerCase() });
  const phone = e164(p.fields.MobilePhone) ?? e164(p.fields.Phone);
  if (phone !== null) out.push({ kind: 'phone', value: phone });
  return out;
}

const validZone = (z: string): boolean => {
  try {
    new Intl.DateTimeFormat('en', { timeZone: z });
    return true;
  } catch {
    return false;
  }
};

/** Market (ISO country of the mailing address) and time zone (our field, when valid). */
export function profileOf(p: SalesforcePerson, timeZoneField: string | null): { market?: string; timezone?: string } {
  const out: { market?: string; timezone?: string } = {};
  const country = p.fields.MailingCountryCode ?? p.fields.CountryCode;
  if (typeof country === 'string' && /^[A-Z]{2}$/.test(country)) out.market = country;
  const zone = timeZoneField ? p.fields[timeZoneField] : null;
  if (typeof zone === 'string' && validZone(zone)) out.timezone = zone;
  return out;
}

/**
 * Consent from the person's own flags. Only an opt-out says something: `HasOptedOutOfEmail` revokes
 * marketing and service e-mail, `DoNotCall` marketing and service calls (transactional stays, as a
 * STOP keyword leaves it). A cleared flag is not an opt-in, so it yields nothing.
 */
export function consentFromFlags(p: SalesforcePerson, at: string): ConsentRecord[] {
  const out: ConsentRecord[] = [];
  const revoke = (channel: string, flag: string) => {
    for (const purpose of ['marketing', 'service'] as const)
      out.push({ channel, purpose, status: 'revoked', source: 'crm', evidence: `Salesforce ${p.type}.${flag} (${p.id})`, at });
  };
  if (p.fields.HasOptedOutOfEmail === true) revoke('email', 'HasOptedOutOfEmail');
  if (p.fields.DoNotCall === true) revoke('voice', 'DoNotCall');
  return out;
}

/** A ContactPointTypeConsent or ContactPointConsent row (with its purpose and channel type names). */
export interface ContactPointConsentRow {
  Id: string;
  ContactPointType: string | null;
  PrivacyConsentStatus: string | null;
  EffectiveFrom: string | null;
  EffectiveTo: string | null;
  CaptureDate: string | null;
  CaptureSource: string | null;
  purposeName: string | null;
  engagementChannel: string | null;
}

const CHANNEL_NAMES: Record<string, string> = {
  sms: 'sms',
  text: 'sms',
  whatsapp: 'whatsapp',
  email: 'email',
  voice: 'voice',
  phone: 'voice',
  call: 'voice',
  viber: 'viber',
  rcs: 'rcs',
};

/**
 * Consent records from Salesforce's consent objects. `OptIn` → granted, `OptOut` → revoked, `Seen`
 * and `NotSeen` say nothing; rows outside their effective window are ignored. The channel is the
 * engagement channel type when there is one; a plain `Phone` opt-out covers every phone channel
 * (sms, voice, whatsapp) while a plain `Phone` opt-in grants calls only (opting in to one phone
 * channel is not consent to the others). Purposes match our purpose names; no purpose means all.
 */
export function consentFromContactPoints(
  rows: readonly ContactPointConsentRow[],
  nowMs: number,
): { records: ConsentRecord[]; ignored: string[] } {
  const records: ConsentRecord[] = [];
  const ignored: string[] = [];
  for (const r of rows) {
    const status = r.PrivacyConsentStatus === 'OptIn' ? 'granted' : r.PrivacyConsentStatus === 'OptOut' ? 'revoked' : null;
    const from = isoInstant(r.EffectiveFrom);
    const to = isoInstant(r.EffectiveTo);
    if (status === null || (from !== null && Date.parse(from) > nowMs) || (to !== null && Date.parse(to) < nowMs)) continue;
    let purpose: Purpose | '*' = '*';
    if (r.purposeName !== null) {
      const p = r.purposeName.trim().toLowerCase();
      if (!(PURPOSES as readonly string[]).includes(p)) {
        ignored.push(`${r.Id}: purpose "${r.purposeName}" is not one of ours`);
        continue;
      }
      purpose = p as Purpose;
    }
    let channels: string[];
    const named = r.engagementChannel === null ? undefined : CHANNEL_NAMES[r.engagementChannel.trim().toLowerCase()];
    if (named !== undefined) channels = [named];
    else if (r.engagementChannel !== null) {
      ignored.push(`${r.Id}: engagement channel "${r.engagementChannel}" is not one of ours`);
      continue;
    } else if (r.ContactPointType === 'Email') channels = ['email'];
    else if (r.ContactPointType === 'Phone') channels = status === 'revoked' ? ['sms', 'voice', 'whatsapp'] : ['voice'];
    else continue;
    const at = isoInstant(r.CaptureDate) ?? isoInstant(r.EffectiveFrom) ?? new Date(nowMs).toISOString();
    for (const channel of channels)
      records.push({
        channel,
        purpose,
        status,
        source: 'crm',
        evidence: `Salesforce consent ${r.Id}${r.CaptureSource ? ` (${r.CaptureSource})` : ''}`.slice(0, 2000),
        at,
      });
  }
  return { records, ignored };
}
