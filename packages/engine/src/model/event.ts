import { z } from 'zod';

export const objectRefSchema = z.strictObject({
  type: z.string().min(1).max(60),
  id: z.string().min(1).max(200),
});
export type ObjectRef = z.output<typeof objectRefSchema>;

const dataSchema = z.record(z.string(), z.unknown());

/** A CRM-neutral event in our vocabulary (after the ruleset's eventMap). */
export const crmEventSchema = z.strictObject({
  id: z.string().min(1).max(200),
  source: z.enum(['hubspot', 'salesforce', 'api', 'provider', 'journey']),
  type: z.string().min(1).max(80),
  contactId: z.string().min(1).max(200).optional(),
  object: objectRefSchema.optional(),
  occurredAt: z.iso.datetime({ offset: true }),
  data: dataSchema.default({}),
});
export type CrmEventInput = z.input<typeof crmEventSchema>;
export type CrmEvent = z.output<typeof crmEventSchema>;
