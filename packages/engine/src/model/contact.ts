import { z } from 'zod';
import { isValidTimeZone } from '../time/zoned.js';
import { IDENTITY_KINDS, MESSAGE_TYPES } from './vocabulary.js';

const scalar = z.union([z.string(), z.number(), z.boolean(), z.null()]);

export const identitySchema = z.strictObject({
  kind: z.enum(IDENTITY_KINDS),
  value: z.string().min(1).max(320),
});

export const channelEngagementSchema = z.strictObject({
  sent: z.number().int().nonnegative().default(0),
  delivered: z.number().int().nonnegative().default(0),
  read: z.number().int().nonnegative().default(0),
  replied: z.number().int().nonnegative().default(0),
});

export const preferenceSchema = z.strictObject({
  /** Channel the contact prefers for this message type: moved first when it is a candidate. */
  channel: z.string().optional(),
  /** Channels the contact does not want for this message type. */
  exclude: z.array(z.string()).optional(),
});

export const contactSchema = z.strictObject({
  id: z.string().min(1).max(200),
  identities: z.array(identitySchema).max(50).default([]),
  /** IANA zone, e.g. Europe/Berlin. Falls back to the market's zone, then UTC. */
  timezone: z
    .string()
    .min(1)
    .max(64)
    .refine((zone) => isValidTimeZone(zone), { message: 'not an IANA time zone (e.g. Africa/Nairobi, Europe/Berlin)' })
    .optional(),
  /** ISO 3166-1 alpha-2 market. */
  market: z
    .string()
    .regex(/^[A-Z]{2}$/, 'must be an ISO 3166-1 alpha-2 code in upper case')
    .optional(),
  locale: z.string().max(35).optional(),
  smartphone: z.boolean().optional(),
  vulnerable: z.boolean().optional(),
  /** What the handset/account can receive: rcs, whatsapp, viber, … (true = known capable). */
  capabilities: z.record(z.string(), z.boolean()).default({}),
  /** Last inbound message per channel (ISO instant), for session windows such as WhatsApp's 24 h. */
  lastInbound: z.record(z.string(), z.iso.datetime({ offset: true })).default({}),
  preferences: z.partialRecord(z.enum(MESSAGE_TYPES), preferenceSchema).default({}),
  engagement: z.record(z.string(), channelEngagementSchema).default({}),
  /** Reads per local hour of day (24 buckets); its peak is the contact's best hour. */
  readHours: z.array(z.number().nonnegative()).length(24).optional(),
  tags: z.array(z.string().max(100)).max(100).default([]),
  attributes: z.record(z.string(), scalar).default({}),
});

export type ContactInput = z.input<typeof contactSchema>;
export type Contact = z.output<typeof contactSchema>;
export type Identity = z.output<typeof identitySchema>;
export type ChannelEngagement = z.output<typeof channelEngagementSchema>;
