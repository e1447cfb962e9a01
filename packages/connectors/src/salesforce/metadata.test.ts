/**
 * The fields the connector writes and the fake enforces are the fields integrations/salesforce
 * ships: same names, types and lengths, so a rename on one side fails here, not in an org.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { personFields } from './records.js';
import { SIGNALBOX_PERSON_FIELDS, SIGNALBOX_TASK_FIELDS } from './testing/fake-schema.js';
import { MESSAGE_ID_FIELD, SIGNALBOX_FIELDS, taskFor } from './write-back.js';

const root = new URL('../../../../integrations/salesforce/force-app/main/default/objects/', import.meta.url);
const shipped = (object: string) =>
  Object.fromEntries(
    readdirSync(new URL(`${object}/fields/`, root)).map((f) => {
      const xml = readFileSync(new URL(`${object}/fields/${f}`, root), 'utf8');
      const tag = (t: string) => new RegExp(`<${t}>([^<]*)</${t}>`).exec(xml)?.[1];
      return [tag('fullName'), { type: tag('type'), length: tag('length'), externalId: tag('externalId') === 'true' }];
    }),
  );
const TYPE: Record<string, string> = { string: 'Text', textarea: 'LongTextArea', double: 'Number', currency: 'Number' };

describe('shipped metadata', () => {
  it.each(['Contact', 'Lead'])(
    '%s has every Signalbox field the connector reads and writes, with the fake’s types and lengths',
    (object) => {
      const fields = shipped(object);
      for (const f of SIGNALBOX_PERSON_FIELDS) {
        expect(fields[f.name], f.name).toBeDefined();
        expect(fields[f.name]?.type).toBe(TYPE[f.type]);
        if (f.type === 'string') expect(Number(fields[f.name]?.length)).toBe(f.length);
      }
      expect(Object.keys(fields).sort()).toEqual(SIGNALBOX_PERSON_FIELDS.map((f) => f.name).sort());
      for (const name of Object.values(SIGNALBOX_FIELDS)) expect(fields[name], name).toBeDefined();
      expect(fields[personFields('Contact', 'Signalbox_Time_Zone__c').at(-1) as string]).toBeDefined();
    },
  );

  it('Activity has the Task fields, the message id an external id', () => {
    const fields = shipped('Activity');
    expect(Object.keys(fields).sort()).toEqual(SIGNALBOX_TASK_FIELDS.map((f) => f.name).sort());
    expect(fields[MESSAGE_ID_FIELD]?.externalId).toBe(true);
    const written = Object.keys(
      taskFor({ messageId: 'm', whoId: 'w', channel: 'sms', outcome: 'sent', cost: 1, reason: 'r', label: 'l', at: 0 }),
    ).filter((k) => k.endsWith('__c'));
    for (const k of written) expect(fields[k], k).toBeDefined();
  });
});
