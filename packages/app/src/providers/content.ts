/**
 * The contract between message content and the providers: what a provider's `send` is handed.
 *
 * `OutboundMessage.rendered` (the engine's provider port) carries one `RenderedContent`: the
 * template rendered for that channel and the contact's language. `OutboundMessage.content` keeps
 * naming the variant chosen (rich, text, text+link, voice, ussd-menu), so the rendered message
 * travels as `rendered`. `text+link` renders to kind `text` (the link is in the text).
 *
 * ```ts
 * type RenderedContent =
 *   | { kind: 'text'; text: string; segments: SmsSegments }
 *   | { kind: 'rich'; body: string; buttons?: {id: string; title: string}[]; mediaUrl?: string; fallbackText: string;
 *       whatsappTemplate?: { name: string; language: string; parameters: string[] } }
 *   | { kind: 'voice'; script: string; language: string; voice?: string }
 *   | { kind: 'ussd-menu'; text: string; options: {key: string; label: string}[] }
 *   | { kind: 'email'; subject: string; html: string; text: string; marketing: boolean };
 * interface SmsSegments { encoding: 'GSM-7' | 'UCS-2'; segments: number; characters: number }
 * ```
 * The types live in the engine (`@signalbox/engine`, content/rendered.ts) since the engine counts
 * segments and prices them; this module is where providers take them from.
 */
import type { RenderedContent } from '@signalbox/engine';

export type { RenderedContent, RenderedKind, SmsSegments } from '@signalbox/engine';

/** The plain text of any rendered content: what a text-only route sends, or a transcript shows. */
export function plainText(c: RenderedContent): string {
  switch (c.kind) {
    case 'text':
      return c.text;
    case 'rich':
      return c.fallbackText;
    case 'voice':
      return c.script;
    case 'ussd-menu':
      return [c.text, ...c.options.map((o) => `${o.key}. ${o.label}`)].join('\n');
    case 'email':
      return c.text;
  }
}

/** A log-safe description of rendered content: its kind and sizes, never its words (which hold PII). */
export function redactedContent(c: RenderedContent | undefined): Record<string, string | number> | undefined {
  if (c === undefined) return undefined;
  if (c.kind === 'text')
    return { kind: c.kind, encoding: c.segments.encoding, segments: c.segments.segments, characters: c.segments.characters };
  return { kind: c.kind, characters: plainText(c).length };
}
