import { selectVariant } from '../content/select.js';
import type { VariantOf } from '../content/template-schema.js';
import type { Reason } from '../model/decision.js';
import type { Draft } from './draft.js';
import { applyExclude, dropCandidate, fired } from './draft.js';

/**
 * Why a channel cannot carry this message to this contact, or null. Consent (a guard) first,
 * then address, handset capability, market support, session window and channel caps.
 */
export function channelBlock(d: Draft, channel: string): Omit<Reason, 'channel'> | null {
  const cfg = d.rs.source.channels[channel];
  if (cfg === undefined) return { stage: 'capability', code: 'not_capable', message: `channel ${channel} is not declared` };
  const consent = d.f.consent.answer(channel, d.f.purpose);
  if (!consent.allowed) {
    const r = consent.record;
    return {
      stage: 'guards',
      code: 'no_consent',
      message: r
        ? `${d.f.purpose} consent ${r.status} on ${r.channel === '*' ? 'all channels' : r.channel} (${r.source}, ${r.at})`
        : `no ${d.f.purpose} consent on record for ${channel}`,
    };
  }
  if (!d.f.identityKinds.has(cfg.address)) {
    return { stage: 'capability', code: 'no_address', message: `contact has no ${cfg.address} for ${channel}` };
  }
  if (cfg.requires !== undefined && d.ctx.contact.capabilities[cfg.requires] !== true) {
    return { stage: 'capability', code: 'not_capable', message: `contact is not known to be ${cfg.requires}-capable` };
  }
  if (d.f.market !== undefined && !d.f.market.channels.includes(channel)) {
    return { stage: 'capability', code: 'outside_market', message: `${channel} is not offered in market ${d.ctx.contact.market}` };
  }
  if (cfg.sessionWindowHours !== undefined) {
    const last = d.ctx.contact.lastInbound[channel];
    const open = last !== undefined && d.now - Date.parse(last) < cfg.sessionWindowHours * 3_600_000;
    const outside = open ? null : outsideWindow(d, channel, cfg.sessionWindowHours);
    if (outside !== null) return { stage: 'capability', code: 'session_window', message: outside };
  }
  const capped = d.cappedChannels?.get(channel);
  if (capped !== undefined) return { stage: 'guards', code: 'cap', message: capped };
  return null;
}

/**
 * Why a message may not go on a session channel (WhatsApp) outside its window, or null: only a
 * template may, and when the template has content, only a variant mapped to the provider's
 * approved template (in the language the contact gets).
 */
function outsideWindow(d: Draft, channel: string, hours: number): string | null {
  const name = d.request.template;
  if (name === undefined) return `free-form ${channel} needs an inbound message in the last ${hours} h, or an approved template`;
  const template = d.rs.source.templates[name];
  if (template?.content === undefined) return null;
  const rich = selectVariant(template, 'rich', d.ctx.contact.locale);
  if (rich !== null && rich.kind === 'rich' && (rich.variant as VariantOf<'rich'>).whatsappTemplate !== undefined) return null;
  return `outside the ${hours} h window ${channel} sends only approved templates; ${name} (${rich?.language ?? 'no rich variant'}) is not mapped to one`;
}

/** Stage 3. Drops candidates the contact cannot receive; then capability rules. */
export function capability(d: Draft): void {
  let drops: Array<[string, Omit<Reason, 'channel'>]> | null = null;
  for (const group of d.candidates) {
    for (const ch of group) {
      const block = channelBlock(d, ch);
      if (block === null) continue;
      drops ??= [];
      drops.push([ch, block]);
    }
  }
  if (drops !== null) {
    for (const [ch, block] of drops) {
      dropCandidate(d, ch);
      d.reasons.push({ stage: block.stage, code: block.code, channel: ch, message: block.message });
    }
  }
  for (const rule of fired(d, 'capability')) applyExclude(d, rule, 'excluded');
}
