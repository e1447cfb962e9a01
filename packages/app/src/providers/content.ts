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
export type { RenderedContent, RenderedKind, SmsSegments } from '@signalbox/engine';

export { plainText, redactedContent } from '../content/plain-text.js';
