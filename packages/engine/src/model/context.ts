import { z } from 'zod';
import { consentRecordSchema } from './consent.js';
import { contactSchema } from './contact.js';
import { objectRefSchema } from './event.js';
import { MESSAGE_TYPES } from './vocabulary.js';

/**
 * A message to the contact counted by the contact-pressure budget: sent, or decided and waiting to
 * go (`pending`). A pending message of a lower `priority` than the one being decided gives way to
 * it: it is not counted, and it is held back in its turn when its own send time comes.
 */
export const sentRecordSchema = z.strictObject({
  at: z.iso.datetime({ offset: true }),
  type: z.enum(MESSAGE_TYPES),
  channel: z.string().max(40).optional(),
  team: z.string().max(100).optional(),
  priority: z.enum(['low', 'normal', 'high']).optional(),
  pending: z.boolean().optional(),
});

/** An event in the contact's recent past, from which suppression windows are derived. */
export const pastEventSchema = z.strictObject({
  type: z.string().min(1).max(80),
  at: z.iso.datetime({ offset: true }),
  object: objectRefSchema.optional(),
  data: z.record(z.string(), z.unknown()).default({}),
});

/** Fresh state the decision needs about one contact; the runtime loads it, the engine only reads it. */
export const decisionContextSchema = z.strictObject({
  contact: contactSchema,
  consent: z.array(consentRecordSchema).max(10_000).default([]),
  history: z.array(sentRecordSchema).max(10_000).default([]),
  events: z.array(pastEventSchema).max(10_000).default([]),
  /** Snapshot of the CRM object the message is about (an invoice, a ticket), if any. */
  object: z.record(z.string(), z.unknown()).optional(),
});
export type DecisionContextInput = z.input<typeof decisionContextSchema>;
export type DecisionContext = z.output<typeof decisionContextSchema>;
export type SentRecord = z.output<typeof sentRecordSchema>;
export type PastEvent = z.output<typeof pastEventSchema>;

/**
 * The decision context from records the runtime itself stored (each validated when it came in):
 * the schema's defaults filled in, without checking every field again. Equal to
 * `decisionContextSchema.parse` on valid input (tested on generated contexts); the runtime builds
 * one per decision and send, inside its transaction, where the full check cost ~4 % of the
 * worker's time.
 */
export function trustedDecisionContext(input: DecisionContextInput): DecisionContext {
  const c = input.contact;
  const engagement: DecisionContext['contact']['engagement'] = {};
  for (const [channel, e] of Object.entries(c.engagement ?? {}))
    engagement[channel] = { sent: e.sent ?? 0, delivered: e.delivered ?? 0, read: e.read ?? 0, replied: e.replied ?? 0 };
  const out: DecisionContext = {
    contact: {
      ...c,
      identities: c.identities ?? [],
      capabilities: c.capabilities ?? {},
      lastInbound: c.lastInbound ?? {},
      preferences: c.preferences ?? {},
      engagement,
      tags: c.tags ?? [],
      attributes: c.attributes ?? {},
    },
    consent: (input.consent ?? []) as DecisionContext['consent'],
    history: (input.history ?? []) as DecisionContext['history'],
    events: (input.events ?? []).map((e) => (e.data === undefined ? { ...e, data: {} } : e)) as DecisionContext['events'],
  };
  if (input.object !== undefined) out.object = input.object;
  return out;
}
