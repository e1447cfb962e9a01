import { IDENTITY_KINDS, isValidTimeZone, messageRequestSchema, PURPOSES } from '@signalbox/engine';
import { z } from 'zod';
import { IdentityError, normalizeIdentity } from '../../contacts/identity.js';
import { AppError, InputError } from '../../errors.js';

/** Shared input shapes of the API (the routes validate with them; /openapi.json describes them). */

export const identity = z.strictObject({ kind: z.enum(IDENTITY_KINDS), value: z.string().min(1).max(320) });

/** An IANA time zone name (whether the time zone database knows it is checked after the shape: 422). */
export const timeZone = z.string().min(1).max(64);

/**
 * Refuses a time zone no time zone database knows (decisions would silently assume UTC): 422,
 * with the path of each, once the body has the right shape.
 */
export function assertKnownZones(zones: ReadonlyArray<{ zone: string | undefined; path: string }>): void {
  const unknown = zones.filter((z) => z.zone !== undefined && !isValidTimeZone(z.zone));
  if (unknown.length > 0)
    throw new AppError(
      422,
      'TIMEZONE_UNKNOWN',
      `${unknown.map((z) => `"${z.zone}"`).join(', ')} is not an IANA time zone (e.g. Africa/Nairobi, Europe/Berlin)`,
      unknown.map((z) => ({ path: z.path, message: 'not an IANA time zone' })),
    );
}

/** The time zone a contact reference carries, if any. */
/**
 * Refuses identities a contact could never be found or stored by (a phone that is not E.164, an
 * address that is not one), each at its path, at the door: accepted, such an event only failed
 * later in the worker, retried as if the failure were passing, then dead-lettered.
 */
export function assertIdentities(refs: ReadonlyArray<{ ref: unknown; path: string }>): void {
  const problems: Array<{ path: string; message: string }> = [];
  for (const { ref, path } of refs) {
    if (typeof ref !== 'object' || ref === null || !('identities' in ref) || !Array.isArray(ref.identities)) continue;
    ref.identities.forEach((i: { kind: (typeof IDENTITY_KINDS)[number]; value: string }, k: number) => {
      try {
        normalizeIdentity(i.kind, i.value, `${path}/identities/${k}/value`);
      } catch (err) {
        if (!(err instanceof IdentityError)) throw err;
        problems.push({ path: err.path, message: err.message });
      }
    });
  }
  if (problems.length > 0) throw new InputError(`${problems.length === 1 ? 'an identity is' : 'identities are'} not valid`, problems);
}

export const zoneOf = (ref: unknown): string | undefined =>
  typeof ref === 'object' && ref !== null && 'timezone' in ref && typeof ref.timezone === 'string' ? ref.timezone : undefined;

/** A contact's fields as the API takes them (identities find it; the rest updates it). */
/**
 * A map whose keys and size are bounded as its values are: a contact's attributes, capabilities
 * and preferences are read on every decision and shown on the card (10,000 keys of 100 KB each
 * were accepted).
 */
function boundedRecord<K extends z.ZodString, V extends z.ZodType>(key: K, value: V, max: number) {
  return z.record(key, value).refine((r) => Object.keys(r).length <= max, { message: `at most ${max} entries` });
}

export const contactFields = {
  timezone: timeZone.optional(),
  market: z
    .string()
    .regex(/^[A-Z]{2}$/, 'must be an ISO 3166-1 alpha-2 code in upper case')
    .optional(),
  locale: z.string().max(35).optional(),
  smartphone: z.boolean().optional(),
  vulnerable: z.boolean().optional(),
  capabilities: boundedRecord(z.string().min(1).max(40), z.boolean(), 50).optional(),
  preferences: boundedRecord(
    z.string().min(1).max(40),
    z.strictObject({ channel: z.string().min(1).max(40).optional(), exclude: z.array(z.string().min(1).max(40)).max(20).optional() }),
    20,
  ).optional(),
  tags: z.array(z.string().max(100)).max(100).optional(),
  attributes: boundedRecord(z.string().min(1).max(100), z.union([z.string().max(2000), z.number(), z.boolean(), z.null()]), 200).optional(),
};

export const contactUpsert = z.strictObject({ identities: z.array(identity).min(1).max(20), ...contactFields });

/**
 * Which contact a message or an event is about: an existing contact by `id`, or by its identities
 * (created or updated with the fields given).
 */
export const contactRef = z.union([
  z.strictObject({
    // missing altogether: say the other way to name the contact too
    id: z
      .string({ error: (issue) => (issue.input === undefined ? 'required: the contact’s id, or `identities` instead of `id`' : undefined) })
      .min(1)
      .max(200),
  }),
  z.strictObject({ identities: z.array(identity).min(1).max(20), ...contactFields }),
]);

export const messageBody = z.strictObject({ contact: contactRef, message: messageRequestSchema });

const eventBody = z.strictObject({
  id: z.string().min(1).max(200),
  type: z.string().regex(/^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$/, 'must look like noun.verb'),
  occurredAt: z.iso.datetime({ offset: true }),
  contact: contactRef,
  object: z.strictObject({ type: z.string().min(1).max(60), id: z.string().min(1).max(200) }).optional(),
  data: z.record(z.string(), z.unknown()).optional(),
});
export const eventsBody = z.union([eventBody, z.array(eventBody).min(1).max(100)]);

export const consentBody = z.strictObject({
  channel: z.string().min(1).max(40),
  purpose: z.union([z.enum(PURPOSES), z.literal('*')]),
  status: z.enum(['granted', 'revoked']),
  source: z.enum(['crm', 'agent', 'api', 'import']).optional(),
  legalBasis: z.string().max(100).optional(),
  evidence: z.string().max(2000).optional(),
  at: z.iso.datetime({ offset: true }).optional(),
});

export const reviewBody = z.strictObject({ verdict: z.enum(['approve', 'reject']), note: z.string().max(2000).optional() });

export const timeWindow = z.strictObject({ from: z.iso.datetime({ offset: true }), to: z.iso.datetime({ offset: true }) });
