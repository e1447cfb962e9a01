import {
  type CompiledRuleset,
  type ContentVariant,
  type RenderedContent,
  smsSegments,
  TEMPLATE_KINDS,
  templateKindFor,
  templateVariablesSchema,
} from '@signalbox/engine';
import { z } from 'zod';
import type { ContentRenderer } from '../../content/renderer.js';
import { NotFoundError } from '../../errors.js';
import type { RouteSpec } from '../route-table.js';
import { parseBody } from '../validate.js';
import { assertKnownZones } from './schemas.js';

const scalar = z.union([z.string().max(2000), z.number(), z.boolean()]);
const previewBody = z.strictObject({
  template: z.string().min(1).max(200),
  variables: templateVariablesSchema.default({}),
  contact: z
    .strictObject({
      id: z.string().min(1).max(200).default('preview'),
      locale: z.string().max(35).optional(),
      timezone: z.string().min(1).max(64).optional(),
      market: z
        .string()
        .regex(/^[A-Z]{2}$/, 'must be an ISO 3166-1 alpha-2 code in upper case')
        .optional(),
      attributes: z.record(z.string().max(60), z.union([scalar, z.null()])).default({}),
    })
    .default({ id: 'preview', attributes: {} }),
  object: z.record(z.string().max(60), z.unknown()).optional(),
  /** Channels to render for (default: every channel of the ruleset). */
  channels: z.array(z.string().min(1).max(40)).min(1).max(20).optional(),
  /** Whether the message goes as rich content (text+link on plain-text channels). */
  rich: z.boolean().optional(),
});

/** The price of this rendered content on a channel in the contact's market (SMS: per segment). */
function costOf(rs: CompiledRuleset, channel: string, market: string | undefined, rendered: RenderedContent): number {
  const prices = rs.source.prices;
  const unit = (market === undefined ? undefined : prices.markets[market]?.[channel]) ?? prices.default[channel] ?? 0;
  const sms = rs.source.channels[channel]?.kind === 'sms';
  const parts = sms ? smsSegmentsOf(rendered) : 1;
  return Math.round(unit * Math.max(1, parts) * 1e6) / 1e6;
}

function smsSegmentsOf(r: RenderedContent): number {
  if (r.kind === 'text') return r.segments.segments;
  return smsSegments(r.kind === 'rich' ? r.fallbackText : r.kind === 'email' ? r.text : r.kind === 'voice' ? r.script : r.text).segments;
}

/** The variant a channel carries for a message, as the plan chooses it (rich messages: rich, else text+link). */
function variantFor(rs: CompiledRuleset, channel: string, rich: boolean): ContentVariant {
  const offered = rs.source.channels[channel]?.content ?? ['text'];
  if (rich && offered.includes('rich')) return 'rich';
  if (rich) return 'text+link';
  return offered.find((v) => v !== 'rich') ?? offered[0] ?? 'text';
}

/**
 * Template preview: a template rendered for a contact on each channel, with what each costs
 * (SMS: its encoding and segments × the price per segment); a channel that cannot be rendered says why.
 */
export function templateRoutes(ruleset: () => CompiledRuleset, renderer: ContentRenderer): RouteSpec[] {
  return [
    {
      method: 'post',
      path: '/api/v1/templates/preview',
      summary: 'A template rendered for a contact on each channel, with segments, encoding and cost; nothing stored or sent',
      tags: ['templates'],
      security: 'apiKey',
      roles: ['admin', 'agent', 'integration'],
      body: previewBody,
      responses: {
        200: '{template, language chain, channels: [{channel, kind, language, rendered, segments, cost} | {channel, refused}]}',
      },
      handler: (req, res) => {
        const body = parseBody(previewBody, req.body);
        assertKnownZones([{ zone: body.contact.timezone, path: '/contact/timezone' }]);
        const rs = ruleset();
        const template = rs.source.templates[body.template];
        if (template === undefined)
          throw new NotFoundError('TEMPLATE_NOT_FOUND', `no template ${body.template} in ruleset ${rs.version}`, [
            { path: '/template', message: 'not declared in the active ruleset' },
          ]);
        const channels = body.channels ?? Object.keys(rs.source.channels);
        const unknown = channels.map((c, i) => ({ c, i })).filter(({ c }) => rs.source.channels[c] === undefined);
        if (unknown.length > 0)
          throw new NotFoundError(
            'CHANNEL_NOT_FOUND',
            `no channel ${unknown.map((u) => u.c).join(', ')} in ruleset ${rs.version}`,
            unknown.map(({ i }) => ({ path: `/channels/${i}`, message: 'not declared in the active ruleset' })),
          );
        const contact = {
          id: body.contact.id,
          attributes: body.contact.attributes,
          ...(body.contact.locale === undefined ? {} : { locale: body.contact.locale }),
          ...(body.contact.timezone === undefined ? {} : { timezone: body.contact.timezone }),
          ...(body.contact.market === undefined ? {} : { market: body.contact.market }),
        };
        const request = {
          template: body.template,
          type: template.messageType,
          purpose: template.purpose,
          variables: body.variables,
          ...(body.object === undefined
            ? {}
            : { object: { type: String(body.object.type ?? 'object'), id: String(body.object.id ?? '') } }),
        };
        const target = { request, contact, ...(body.object === undefined ? {} : { object: body.object }) };
        const out = channels.map((channel) => {
          const variant = variantFor(rs, channel, body.rich ?? template.rich);
          const kind = templateKindFor(rs.source.channels[channel]?.kind ?? 'sms', variant);
          const r = renderer.forChannel(rs, channel, variant, target) ?? { ok: false, reason: `template ${body.template} has no content` };
          if (!r.ok) return { channel, kind, refused: r.reason };
          const segments = r.rendered.kind === 'text' ? r.rendered.segments : null;
          return {
            channel,
            kind: r.kind,
            language: r.language,
            fellBack: r.fellBack,
            rendered: r.rendered,
            ...(rs.source.channels[channel]?.kind === 'sms' && segments !== null ? { segments } : {}),
            cost: costOf(rs, channel, contact.market, r.rendered),
            currency: rs.source.prices.currency,
          };
        });
        res.json({ template: body.template, kinds: TEMPLATE_KINDS.filter((k) => template.content?.[k] !== undefined), channels: out });
      },
    },
  ];
}
