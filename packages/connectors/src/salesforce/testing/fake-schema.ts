/**
 * The slice of Salesforce's data model the fake knows: objects, their key prefixes and fields.
 * Writes to a field an object does not have fail as Salesforce fails them (INVALID_FIELD), so a
 * connector that forgets to ship a custom field finds out here, not in a customer's org.
 */
import { toId18 } from '../ids.js';

export type FieldType =
  | 'id'
  | 'string'
  | 'textarea'
  | 'email'
  | 'phone'
  | 'boolean'
  | 'double'
  | 'currency'
  | 'int'
  | 'date'
  | 'datetime'
  | 'picklist'
  | 'reference';

export interface FieldDef {
  name: string;
  type: FieldType;
  /** reference: the object(s) it points at; the relationship is the name without `Id`. */
  refersTo?: string[];
  length?: number;
  required?: boolean;
  externalId?: boolean;
  /** Set by Salesforce itself; writes are refused. */
  system?: boolean;
  /** Only on insert (Task.TaskSubtype). */
  createOnly?: boolean;
  picklist?: string[];
  default?: string | number | boolean;
}

export interface ObjectDef {
  name: string;
  prefix: string;
  fields: FieldDef[];
  /** Change Data Capture is selected for it (Setup → Change Data Capture). */
  cdc: boolean;
}

const system: FieldDef[] = [
  { name: 'Id', type: 'id', system: true },
  { name: 'IsDeleted', type: 'boolean', system: true },
  { name: 'CreatedDate', type: 'datetime', system: true },
  { name: 'LastModifiedDate', type: 'datetime', system: true },
  { name: 'SystemModstamp', type: 'datetime', system: true },
  { name: 'OwnerId', type: 'reference', refersTo: ['User'] },
];

/** The fields Signalbox ships on Contact and Lead (integrations/salesforce metadata). */
export const SIGNALBOX_PERSON_FIELDS: FieldDef[] = [
  { name: 'Signalbox_Preferred_Channel__c', type: 'string', length: 40 },
  { name: 'Signalbox_Reachable_Channels__c', type: 'string', length: 255 },
  { name: 'Signalbox_Consent_Summary__c', type: 'textarea', length: 32768 },
  { name: 'Signalbox_Last_Decision__c', type: 'textarea', length: 32768 },
  { name: 'Signalbox_Messages_30d__c', type: 'double' },
  { name: 'Signalbox_Cost_30d__c', type: 'currency' },
  { name: 'Signalbox_Time_Zone__c', type: 'string', length: 64 },
];

/** The fields Signalbox ships on Activity (so on Task). */
export const SIGNALBOX_TASK_FIELDS: FieldDef[] = [
  { name: 'Signalbox_Message_Id__c', type: 'string', length: 64, externalId: true },
  { name: 'Signalbox_Channel__c', type: 'string', length: 40 },
  { name: 'Signalbox_Outcome__c', type: 'string', length: 40 },
  { name: 'Signalbox_Cost__c', type: 'currency' },
];

const person = (extra: FieldDef[]): FieldDef[] => [
  ...system,
  { name: 'FirstName', type: 'string', length: 40 },
  { name: 'LastName', type: 'string', length: 80, required: true },
  { name: 'Email', type: 'email', length: 80 },
  { name: 'Phone', type: 'phone', length: 40 },
  { name: 'MobilePhone', type: 'phone', length: 40 },
  { name: 'HasOptedOutOfEmail', type: 'boolean', default: false },
  { name: 'DoNotCall', type: 'boolean', default: false },
  { name: 'IndividualId', type: 'reference', refersTo: ['Individual'] },
  ...extra,
];

const consentFields: FieldDef[] = [
  { name: 'Name', type: 'string', length: 255, required: true },
  { name: 'DataUsePurposeId', type: 'reference', refersTo: ['DataUsePurpose'] },
  { name: 'EngagementChannelTypeId', type: 'reference', refersTo: ['EngagementChannelType'] },
  { name: 'PrivacyConsentStatus', type: 'picklist', picklist: ['OptIn', 'OptOut', 'Seen', 'NotSeen'] },
  { name: 'EffectiveFrom', type: 'datetime' },
  { name: 'EffectiveTo', type: 'datetime' },
  { name: 'CaptureDate', type: 'datetime', required: true },
  { name: 'CaptureSource', type: 'string', length: 255, required: true },
  { name: 'CaptureContactPointType', type: 'picklist', picklist: ['Email', 'Phone', 'Web', 'MailingAddress', 'Social'], required: true },
];

/** Standard objects (and the Signalbox custom fields, when `signalboxFields`). */
export function standardObjects(opts: { signalboxFields: boolean; consentObjects: boolean }): ObjectDef[] {
  const sb = opts.signalboxFields ? SIGNALBOX_PERSON_FIELDS : [];
  const objects: ObjectDef[] = [
    {
      name: 'Contact',
      prefix: '003',
      cdc: true,
      fields: person([
        { name: 'AccountId', type: 'reference', refersTo: ['Account'] },
        { name: 'MailingCountryCode', type: 'string', length: 10 },
        ...sb,
      ]),
    },
    {
      name: 'Lead',
      prefix: '00Q',
      cdc: true,
      fields: person([
        { name: 'Company', type: 'string', length: 255, required: true },
        {
          name: 'Status',
          type: 'picklist',
          picklist: ['Open - Not Contacted', 'Working - Contacted', 'Closed - Converted'],
          default: 'Open - Not Contacted',
        },
        { name: 'IsConverted', type: 'boolean', default: false },
        { name: 'ConvertedContactId', type: 'reference', refersTo: ['Contact'] },
        { name: 'CountryCode', type: 'string', length: 10 },
        ...sb,
      ]),
    },
    {
      name: 'Case',
      prefix: '500',
      cdc: true,
      fields: [
        ...system,
        { name: 'ContactId', type: 'reference', refersTo: ['Contact'] },
        { name: 'AccountId', type: 'reference', refersTo: ['Account'] },
        { name: 'Subject', type: 'string', length: 255 },
        { name: 'Status', type: 'picklist', picklist: ['New', 'Working', 'Escalated', 'Closed'], default: 'New' },
        { name: 'Priority', type: 'picklist', picklist: ['High', 'Medium', 'Low'], default: 'Medium' },
        { name: 'Origin', type: 'picklist', picklist: ['Phone', 'Email', 'Web'] },
      ],
    },
    {
      name: 'Opportunity',
      prefix: '006',
      cdc: true,
      fields: [
        ...system,
        { name: 'Name', type: 'string', length: 120, required: true },
        {
          name: 'StageName',
          type: 'picklist',
          required: true,
          picklist: ['Prospecting', 'Negotiation/Review', 'Closed Won', 'Closed Lost'],
        },
        { name: 'CloseDate', type: 'date', required: true },
        { name: 'Amount', type: 'currency' },
        { name: 'ContactId', type: 'reference', refersTo: ['Contact'] },
        { name: 'AccountId', type: 'reference', refersTo: ['Account'] },
      ],
    },
    {
      name: 'OpportunityContactRole',
      prefix: '00K',
      cdc: false,
      fields: [
        ...system.filter((f) => f.name !== 'OwnerId'),
        { name: 'OpportunityId', type: 'reference', refersTo: ['Opportunity'], required: true },
        { name: 'ContactId', type: 'reference', refersTo: ['Contact'], required: true },
        { name: 'IsPrimary', type: 'boolean', default: false },
        { name: 'Role', type: 'string', length: 40 },
      ],
    },
    {
      name: 'Task',
      prefix: '00T',
      cdc: false,
      fields: [
        ...system,
        { name: 'Subject', type: 'string', length: 255 },
        {
          name: 'Status',
          type: 'picklist',
          required: true,
          picklist: ['Not Started', 'In Progress', 'Completed', 'Waiting on someone else', 'Deferred'],
        },
        { name: 'Priority', type: 'picklist', picklist: ['High', 'Normal', 'Low'], default: 'Normal' },
        { name: 'ActivityDate', type: 'date' },
        { name: 'WhoId', type: 'reference', refersTo: ['Contact', 'Lead'] },
        { name: 'WhatId', type: 'reference', refersTo: ['Account', 'Opportunity', 'Case'] },
        { name: 'Description', type: 'textarea', length: 32000 },
        {
          name: 'TaskSubtype',
          type: 'picklist',
          picklist: ['Task', 'Email', 'ListEmail', 'Cadence', 'Call', 'LinkedIn'],
          createOnly: true,
        },
        { name: 'Type', type: 'picklist', picklist: ['Call', 'Email', 'Meeting', 'Other'] },
        ...(opts.signalboxFields ? SIGNALBOX_TASK_FIELDS : []),
      ],
    },
    { name: 'Account', prefix: '001', cdc: false, fields: [...system, { name: 'Name', type: 'string', length: 255, required: true }] },
    { name: 'User', prefix: '005', cdc: false, fields: [...system, { name: 'Username', type: 'string', length: 80 }] },
  ];
  if (opts.consentObjects) {
    objects.push(
      {
        name: 'Individual',
        prefix: '0PK',
        cdc: false,
        fields: [...system, { name: 'LastName', type: 'string', length: 80, required: true }],
      },
      {
        name: 'DataUsePurpose',
        prefix: '0Wp',
        cdc: false,
        fields: [...system, { name: 'Name', type: 'string', length: 80, required: true }],
      },
      {
        name: 'EngagementChannelType',
        prefix: '0eT',
        cdc: false,
        fields: [...system, { name: 'Name', type: 'string', length: 80, required: true }],
      },
      {
        name: 'ContactPointTypeConsent',
        prefix: '0ZY',
        cdc: false,
        fields: [
          ...system,
          { name: 'PartyId', type: 'reference', refersTo: ['Individual'], required: true },
          { name: 'ContactPointType', type: 'picklist', picklist: ['Email', 'Phone', 'Web', 'MailingAddress', 'Social'], required: true },
          ...consentFields,
        ],
      },
      {
        name: 'ContactPointPhone',
        prefix: '0OW',
        cdc: false,
        fields: [
          ...system,
          { name: 'ParentId', type: 'reference', refersTo: ['Individual'], required: true },
          { name: 'TelephoneNumber', type: 'phone', length: 40 },
          { name: 'IsSmsCapable', type: 'boolean', default: false },
        ],
      },
      {
        name: 'ContactPointEmail',
        prefix: '9CE',
        cdc: false,
        fields: [
          ...system,
          { name: 'ParentId', type: 'reference', refersTo: ['Individual'], required: true },
          { name: 'EmailAddress', type: 'email', length: 80 },
        ],
      },
      {
        name: 'ContactPointConsent',
        prefix: '0ZX',
        cdc: false,
        fields: [
          ...system,
          { name: 'ContactPointId', type: 'reference', refersTo: ['ContactPointPhone', 'ContactPointEmail'], required: true },
          ...consentFields,
        ],
      },
    );
  }
  return objects;
}

const B62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/**
 * The 18-character id of the `index`-th record of an object. Ids sort like their index (base 62
 * in ASCII order), as Salesforce's ids sort by creation within one pod.
 */
export function fakeId(prefix: string, index: number): string {
  let s = '';
  let n = index;
  do {
    s = B62[n % 62] + s;
    n = Math.floor(n / 62);
  } while (n > 0);
  return toId18(`${prefix}5g0${s.padStart(9, '0')}`) as string;
}

/** The index back from a fake id (NaN for an id this fake did not make). */
export function fakeIndex(id: string): number {
  const digits = id.slice(6, 15);
  let n = 0;
  for (const ch of digits) {
    const d = B62.indexOf(ch);
    if (d < 0) return Number.NaN;
    n = n * 62 + d;
  }
  return n;
}
