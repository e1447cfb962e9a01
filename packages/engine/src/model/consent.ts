import { z } from 'zod';
import { PURPOSES } from './vocabulary.js';

/** Who changed consent; `provider`: a provider reported it (an unsubscribed recipient, a spam complaint); `unsubscribe`: the contact's own unsubscribe link. */
export const CONSENT_SOURCES = ['crm', 'keyword', 'agent', 'api', 'import', 'provider', 'unsubscribe'] as const;

/** One line of the append-only consent ledger. `*` as channel or purpose means all of them. */
export const consentRecordSchema = z.strictObject({
  channel: z.string().min(1).max(40),
  purpose: z.union([z.enum(PURPOSES), z.literal('*')]),
  status: z.enum(['granted', 'revoked']),
  source: z.enum(CONSENT_SOURCES),
  legalBasis: z.string().max(100).optional(),
  evidence: z.string().max(2000).optional(),
  at: z.iso.datetime({ offset: true }),
});

export type ConsentRecord = z.output<typeof consentRecordSchema>;
