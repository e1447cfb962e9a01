import type { SmsSegments } from '../content/rendered.js';
import type { MessageRequest } from '../model/message.js';
import type { ContentVariant } from '../model/vocabulary.js';
import type { CompiledRuleset } from '../ruleset/compile.js';

/**
 * What the caller knows of the message's rendered content (the app renders templates; the engine
 * prices them): the SMS segments of its text variants in the contact's language.
 */
export interface ContentFacts {
  segments: Partial<Record<'text' | 'text+link', SmsSegments>>;
}

/** What choosing a channel's variant reads of a decision in progress (a Draft has all of it). */
export interface VariantFacts {
  rs: CompiledRuleset;
  request: MessageRequest;
  adapt: ReadonlyMap<string, ContentVariant> | null;
  content: ContentFacts | null;
}

/** The content variant a channel carries for this message: an `adaptContent` rule, else what it offers. */
export function variantFor(d: VariantFacts, channel: string): ContentVariant {
  const forced = d.adapt?.get(channel);
  if (forced !== undefined) return forced;
  const offered = d.rs.source.channels[channel]?.content ?? ['text'];
  const rich = d.request.rich === true;
  if (rich && offered.includes('rich')) return 'rich';
  if (rich && (offered.includes('text+link') || offered.includes('text'))) return 'text+link';
  for (const v of offered) if (v !== 'rich') return v;
  return offered[0] as ContentVariant;
}

/**
 * The segments this message takes on a channel billed per SMS segment (kind `sms`), from the
 * rendered text the caller passed in; null when the channel is not SMS or the text is not known.
 */
export function segmentsOn(d: VariantFacts, channel: string): SmsSegments | null {
  if (d.content === null || d.rs.source.channels[channel]?.kind !== 'sms') return null;
  const v = variantFor(d, channel);
  if (v !== 'text' && v !== 'text+link') return null;
  return d.content.segments[v] ?? (v === 'text+link' ? (d.content.segments.text ?? null) : null);
}
