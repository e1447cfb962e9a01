import { z } from 'zod';
import { languageTag, templateContentSchema, variableName } from '../content/template-schema.js';
import { CHANNEL_KINDS, CONTENT_VARIANTS, IDENTITY_KINDS, MESSAGE_TYPES, PURPOSES, STAGES } from '../model/vocabulary.js';
import { OPERATOR_NAMES } from '../rules/operators.js';

const id = z.string().regex(/^[a-z0-9][a-z0-9_.-]{0,79}$/, 'must be 1–80 chars of a-z, 0-9, _ . - (starting with a letter or digit)');
const channelName = z.string().regex(/^[a-z][a-z0-9_-]{0,39}$/, 'must be a lower-case channel name');
const marketCode = z.string().regex(/^[A-Z]{2}$/, 'must be an ISO 3166-1 alpha-2 code in upper case');
const eventName = z.string().regex(/^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$/, 'must look like noun.verb (e.g. invoice.paid)');
const hhmm = z.string().regex(/^(([01]\d|2[0-3]):[0-5]\d|24:00)$/, 'must be a local time HH:MM between 00:00 and 24:00');
/** A price or cost limit per message (segment): bounded, so that a cost (price × segments, summed over steps) is always a finite number. */
const money = z.number().nonnegative().max(1_000_000);

export const windowSchema = z.strictObject({ start: hhmm, end: hhmm }).meta({
  description: 'Allowed sending window in the recipient local time; end may be before start (overnight).',
});

// ---- conditions (json-rules-engine's format, with a plain dot path) ----
const factRef = z.strictObject({ fact: z.string(), path: z.string().optional() });
export const leafConditionSchema = z.strictObject({
  fact: z.string().min(1),
  path: z.string().min(1).optional(),
  operator: z.enum(OPERATOR_NAMES as [string, ...string[]]),
  value: z.union([z.string(), z.number(), z.boolean(), z.null(), z.array(z.union([z.string(), z.number(), z.boolean()])), factRef]),
  priority: z.number().int().positive().optional(),
  name: z.string().optional(),
});
export type LeafCondition = z.infer<typeof leafConditionSchema>;
export type Condition =
  | LeafCondition
  | { all: Condition[]; priority?: number | undefined; name?: string | undefined }
  | { any: Condition[]; priority?: number | undefined; name?: string | undefined }
  | { not: Condition; priority?: number | undefined; name?: string | undefined };
export type TopLevelCondition = Exclude<Condition, LeafCondition>;

export const conditionSchema: z.ZodType<Condition> = z.lazy(() =>
  z.union([
    leafConditionSchema,
    z.strictObject({ all: z.array(conditionSchema), priority: z.number().int().positive().optional(), name: z.string().optional() }),
    z.strictObject({ any: z.array(conditionSchema), priority: z.number().int().positive().optional(), name: z.string().optional() }),
    z.strictObject({ not: conditionSchema, priority: z.number().int().positive().optional(), name: z.string().optional() }),
  ]),
);
export const topLevelConditionSchema = z.union([
  z.strictObject({ all: z.array(conditionSchema) }),
  z.strictObject({ any: z.array(conditionSchema) }),
  z.strictObject({ not: conditionSchema }),
]) as z.ZodType<TopLevelCondition>;

// ---- effects: the `event` of a json-rules-engine rule, typed by our vocabulary ----
const candidate = z.union([channelName, z.array(channelName).min(2)]);
export const effectSchema = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('channels'),
    params: z.strictObject({
      /** Ordered candidates; an inner array is a group of equivalent channels (ordered by cost). */
      candidates: z.array(candidate).min(1),
      /** Follow-ups sent whatever happens to the primary, e.g. urgent = voice + SMS. */
      also: z.array(z.strictObject({ channel: channelName, delayMinutes: z.number().int().min(0).max(10080).default(0) })).optional(),
    }),
  }),
  z.strictObject({ type: z.literal('prefer'), params: z.strictObject({ channel: channelName, reason: z.string().optional() }) }),
  z.strictObject({
    type: z.literal('exclude'),
    params: z.strictObject({ channels: z.array(channelName).min(1), reason: z.string().optional() }),
  }),
  z.strictObject({ type: z.literal('suppress'), params: z.strictObject({ reason: z.string().min(1) }) }),
  z.strictObject({ type: z.literal('review'), params: z.strictObject({ reason: z.string().min(1), queue: z.string().optional() }) }),
  z.strictObject({
    type: z.literal('defer'),
    params: z.union([
      z.strictObject({
        minutes: z
          .number()
          .int()
          .positive()
          .max(60 * 24 * 30),
        reason: z.string().optional(),
      }),
      z.strictObject({ until: z.enum(['bestHour', 'windowStart']), reason: z.string().optional() }),
    ]),
  }),
  z.strictObject({
    type: z.literal('cap'),
    params: z.strictObject({
      id,
      max: z.number().int().min(0),
      per: z.enum(['day', 'week']),
      messageTypes: z.array(z.enum(MESSAGE_TYPES)).optional(),
      onExceed: z.enum(['defer', 'suppress']).default('defer'),
    }),
  }),
  z.strictObject({
    type: z.literal('bypass'),
    params: z.strictObject({ guard: z.enum(['quietHours', 'caps']), reason: z.string().optional() }),
  }),
  z.strictObject({
    type: z.literal('fallbackAfter'),
    params: z.strictObject({ channel: channelName, minutes: z.number().int().positive().max(10080) }),
  }),
  z.strictObject({ type: z.literal('adaptContent'), params: z.strictObject({ channel: channelName, variant: z.enum(CONTENT_VARIANTS) }) }),
  z.strictObject({
    type: z.literal('escalate'),
    params: z.strictObject({ channel: channelName, afterMinutes: z.number().int().min(0).max(10080), also: channelName.optional() }),
  }),
  z.strictObject({ type: z.literal('price'), params: z.strictObject({ maxCost: money }) }),
]);
export type Effect = z.output<typeof effectSchema>;
export type EffectType = Effect['type'];
export const EFFECT_TYPES: readonly EffectType[] = [
  'channels',
  'prefer',
  'exclude',
  'suppress',
  'review',
  'defer',
  'cap',
  'bypass',
  'fallbackAfter',
  'adaptContent',
  'escalate',
  'price',
];

export const ruleSchema = z.strictObject({
  name: id,
  stage: z.enum(STAGES),
  description: z.string().max(500).optional(),
  /** Higher runs first; within a stage the first `channels` effect by priority wins. */
  priority: z.number().int().min(1).max(100).default(1),
  enabled: z.boolean().default(true),
  conditions: topLevelConditionSchema,
  event: effectSchema,
});
export type Rule = z.output<typeof ruleSchema>;

// ---- the rest of the document ----
export const channelSchema = z.strictObject({
  kind: z.enum(CHANNEL_KINDS),
  /** Which identity carries the address. */
  address: z.enum(IDENTITY_KINDS),
  /** A capability flag on the contact that must be true (rcs, whatsapp, viber). */
  requires: z.string().max(40).optional(),
  /** Variants the channel carries, preferred first. */
  content: z.array(z.enum(CONTENT_VARIANTS)).min(1),
  provider: z.string().max(60).default('sandbox'),
  /** How long to wait for a delivery receipt before the next step fires. */
  deliveryTimeoutMinutes: z.number().int().positive().max(10080).default(60),
  /** Free-form messages only within this many hours of the contact's last inbound (WhatsApp: 24). */
  sessionWindowHours: z.number().positive().optional(),
  /** Channel to fall back to when this one is the last step and fails. */
  fallback: channelName.optional(),
});

export const marketSchema = z.strictObject({
  name: z.string().max(100),
  timezone: z.string().max(64),
  /** Channels that work in the market. */
  channels: z.array(channelName).min(1),
  /** Messengers in common use, most common first. */
  messengers: z.array(channelName).default([]),
  /** Many contacts on feature phones: USSD/SMS matter. */
  featurePhone: z.boolean().default(false),
});

export const capSchema = z.strictObject({
  id,
  description: z.string().max(300).optional(),
  /** Counted over these message types (all when absent). */
  messageTypes: z.array(z.enum(MESSAGE_TYPES)).optional(),
  /** When set, the cap limits these channels only: over it, they are dropped from the plan. */
  channels: z.array(channelName).optional(),
  max: z.number().int().min(0),
  /** Rolling window: day = 24 h, week = 7 × 24 h. */
  per: z.enum(['day', 'week']),
  onExceed: z.enum(['defer', 'suppress']).default('defer'),
});

export const suppressionSchema = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('window'),
    description: z.string().max(300).optional(),
    /** Events that open the window (per CRM object when they carry one). */
    opens: z.array(eventName).min(1),
    /** Events that close it again. */
    closes: z.array(eventName).default([]),
    /** Window lasts this many days after the opening event (when set). */
    forDays: z.number().positive().max(3650).optional(),
    /** contact: any open window of the contact; object: only the message's own CRM object. */
    scope: z.enum(['contact', 'object']).default('contact'),
  }),
  z.strictObject({
    kind: z.literal('latest'),
    description: z.string().max(300).optional(),
    /** Value of `field` in the data of the latest of these events within `withinDays`, else null. */
    events: z.array(eventName).min(1),
    field: z.string().min(1).max(100),
    withinDays: z.number().positive().max(3650),
  }),
]);

export const templateSchema = z.strictObject({
  messageType: z.enum(MESSAGE_TYPES),
  purpose: z.enum(PURPOSES).optional(),
  category: z.string().max(100).optional(),
  topic: z.string().max(200).optional(),
  rich: z.boolean().default(false),
  priority: z.enum(['low', 'normal', 'high']).optional(),
  description: z.string().max(500).optional(),
  /** Variables every request for this template must carry (what its content may use besides contact and object). */
  variables: z.array(variableName).max(50).default([]),
  /** Variables a request may leave out: the content must then say what stands in (`{{ amount | default: "the balance" }}`). */
  optionalVariables: z.array(variableName).max(50).default([]),
  /** Language used when the contact's locale (and its base language) has no variant. */
  fallbackLanguage: languageTag.default('en'),
  /** The message itself: variants per content kind, each per language. */
  content: templateContentSchema.optional(),
});
export type Template = z.output<typeof templateSchema>;

const stepId = id;
export const journeyStepSchema = z.discriminatedUnion('type', [
  z.strictObject({
    id: stepId,
    type: z.literal('send'),
    template: z.string().min(1),
    /**
     * This message replaces the journey's messages not sent yet (and its sent messages' pending
     * fallbacks): an escalating call cancels a gentler message still waiting for the morning.
     */
    cancelUnsent: z.boolean().optional(),
  }),
  z.strictObject({
    id: stepId,
    type: z.literal('wait'),
    minutes: z
      .number()
      .int()
      .positive()
      .max(60 * 24 * 365),
  }),
  z.strictObject({
    id: stepId,
    type: z.literal('waitUntil'),
    /** Dot path into the instance data holding an ISO instant (e.g. appointment.startsAt). */
    field: z.string().min(1),
    offsetMinutes: z.number().int(),
  }),
  z.strictObject({
    id: stepId,
    type: z.literal('waitFor'),
    events: z.array(eventName).min(1),
    timeoutMinutes: z
      .number()
      .int()
      .positive()
      .max(60 * 24 * 365),
    /** Where to go when one of the events arrives (default: the next step). */
    on: z.record(z.string(), stepId).default({}),
    /** Where to go on timeout (default: the next step). */
    onTimeout: stepId.optional(),
  }),
  // biome-ignore lint/suspicious/noThenProperty: `then`/`else` name the branch targets in the ruleset document
  z.strictObject({ id: stepId, type: z.literal('branch'), conditions: topLevelConditionSchema, then: stepId, else: stepId }),
  z.strictObject({ id: stepId, type: z.literal('end'), outcome: z.string().max(60).default('finished') }),
]);
export type JourneyStep = z.output<typeof journeyStepSchema>;

export const journeySchema = z.strictObject({
  id,
  name: z.string().max(200),
  description: z.string().max(1000).optional(),
  trigger: z.strictObject({ event: eventName, conditions: topLevelConditionSchema.optional() }),
  /** One instance per contact, or per CRM object (the invoice, the appointment). */
  key: z.enum(['contact', 'object']),
  /** Any of these events ends the instance at once and cancels everything still pending. */
  exitOn: z.array(eventName).default([]),
  goal: z.strictObject({ event: eventName, withinDays: z.number().positive().max(3650) }).optional(),
  steps: z.array(journeyStepSchema).min(1).max(100),
});
export type JourneyDefinition = z.output<typeof journeySchema>;

export const eventMapEntrySchema = z.strictObject({
  /** Field values the CRM's raw event must have (dot paths into it). */
  match: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])),
  event: eventName,
  description: z.string().max(300).optional(),
});

const consentDefault = z.enum(['granted', 'revoked']);
const keywordAction = z.strictObject({
  words: z.array(z.string().min(1).max(40)).min(1),
  /** Purposes the keyword revokes (stop) or restores (start); transactional is left alone by default. */
  purposes: z.array(z.enum(PURPOSES)).min(1),
  /** channel: only where the keyword arrived; all: every channel (`*`). */
  scope: z.enum(['channel', 'all']),
});

export const rulesetSchema = z
  .strictObject({
    $schema: z.string().optional(),
    /**
     * The label decisions record: one way to write it (no space around it, Unicode NFC, no control
     * or format characters such as a right-to-left override), so two labels that look the same are the same.
     */
    version: z
      .string()
      .min(1)
      .max(64)
      .refine((v) => v.trim() === v && v.normalize('NFC') === v && !/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u.test(v), {
        message: 'a label written one way: no space around it, Unicode NFC, no control or format characters',
      }),
    description: z.string().max(2000).optional(),
    channels: z.record(channelName, channelSchema),
    prices: z.strictObject({
      currency: z.string().regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code'),
      /** True when the figures are illustrative rather than contracted rates. */
      example: z.boolean(),
      note: z.string().max(500).optional(),
      default: z.record(channelName, money),
      markets: z.record(marketCode, z.record(channelName, money)).default({}),
    }),
    markets: z.record(marketCode, marketSchema),
    quietHours: z.strictObject({
      /**
       * The zone local times are read in for a contact with neither a zone of its own nor a market
       * (an e-mail-only contact): the company's own, say. UTC when not given.
       */
      timezone: z.string().max(64).default('UTC'),
      default: windowSchema,
      markets: z.record(marketCode, windowSchema).default({}),
      /** Deferred messages of these types go at the contact's best hour within the window. */
      bestHourFor: z.array(z.enum(MESSAGE_TYPES)).default([]),
    }),
    consent: z.strictObject({
      /** Consent assumed when the ledger has nothing for a channel × purpose. */
      defaults: z.strictObject({ marketing: consentDefault, service: consentDefault, transactional: consentDefault }),
      /** Inbound keywords on SMS/WhatsApp and what they change (case-insensitive, whole message). */
      keywords: z
        .strictObject({
          stop: keywordAction.default({
            words: ['STOP', 'UNSUBSCRIBE', 'CANCEL', 'END', 'QUIT'],
            purposes: ['marketing', 'service'],
            scope: 'channel',
          }),
          stopAll: keywordAction.default({ words: ['STOPALL', 'STOP ALL'], purposes: ['marketing', 'service'], scope: 'all' }),
          start: keywordAction.default({ words: ['START', 'UNSTOP', 'YES'], purposes: ['marketing', 'service'], scope: 'channel' }),
          help: z.strictObject({ words: z.array(z.string().min(1).max(40)).min(1) }).default({ words: ['HELP', 'INFO'] }),
        })
        .default({
          stop: { words: ['STOP', 'UNSUBSCRIBE', 'CANCEL', 'END', 'QUIT'], purposes: ['marketing', 'service'], scope: 'channel' },
          stopAll: { words: ['STOPALL', 'STOP ALL'], purposes: ['marketing', 'service'], scope: 'all' },
          start: { words: ['START', 'UNSTOP', 'YES'], purposes: ['marketing', 'service'], scope: 'channel' },
          help: { words: ['HELP', 'INFO'] },
        }),
    }),
    caps: z.array(capSchema).default([]),
    suppressions: z.record(z.string().regex(/^[a-zA-Z][a-zA-Z0-9]*$/, 'must be a camelCase name'), suppressionSchema).default({}),
    templates: z.record(z.string().regex(/^[a-z0-9][a-z0-9_.-]{0,99}$/), templateSchema).default({}),
    rules: z.array(ruleSchema),
    journeys: z.array(journeySchema).default([]),
    eventMap: z.partialRecord(z.enum(['hubspot', 'salesforce', 'api', 'provider']), z.array(eventMapEntrySchema)).default({}),
  })
  .meta({ title: 'Signalbox ruleset', description: 'Channels, prices, markets, timing, caps, suppressions, rules and journeys.' });

export type RulesetInput = z.input<typeof rulesetSchema>;
export type Ruleset = z.output<typeof rulesetSchema>;
