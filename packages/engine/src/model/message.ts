import { z } from 'zod';
import { objectRefSchema } from './event.js';
import { MESSAGE_TYPES, PURPOSES } from './vocabulary.js';

/**
 * A template's variables as a request may give them: names up to 60 characters, text up to 2,000,
 * at most 100 of them (what a message can show; a 200,000-character variable made a 1,308-segment SMS).
 */
export const MAX_VARIABLE_NAME = 60;
export const MAX_VARIABLE_TEXT = 2000;
export const MAX_VARIABLES = 100;
export const templateVariablesSchema = z
  .record(z.string().max(MAX_VARIABLE_NAME), z.union([z.string().max(MAX_VARIABLE_TEXT), z.number(), z.boolean()]))
  .refine((r) => Object.keys(r).length <= MAX_VARIABLES, { message: `at most ${MAX_VARIABLES} variables` });

export const messageRequestSchema = z.strictObject({
  idempotencyKey: z.string().min(1).max(200).optional(),
  type: z.enum(MESSAGE_TYPES),
  /** Defaults from the type (promotional → marketing, service/rich → service, others → transactional). */
  purpose: z.enum(PURPOSES).optional(),
  team: z.string().min(1).max(100).optional(),
  workflow: z.string().min(1).max(200).optional(),
  template: z.string().min(1).max(200).optional(),
  variables: templateVariablesSchema.optional(),
  /** Business category used by rules: collections, payment_reminder, survey, … */
  category: z.string().min(1).max(100).optional(),
  /** What the message is about (a survey asks about this topic). */
  topic: z.string().min(1).max(200).optional(),
  priority: z.enum(['low', 'normal', 'high']).default('normal'),
  /** The content is rich (cards, carousels, buttons) and needs adapting for plain-text channels. */
  rich: z.boolean().optional(),
  object: objectRefSchema.optional(),
  journeyId: z.string().min(1).max(100).optional(),
});
export type MessageRequestInput = z.input<typeof messageRequestSchema>;
export type MessageRequest = z.output<typeof messageRequestSchema>;
