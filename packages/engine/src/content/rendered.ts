/**
 * What a provider is handed to send: the message as rendered for one channel and language.
 * The app renders it (Liquid); the engine only names its shape and counts SMS segments.
 * `text+link` renders to kind `text` (the link is part of the text).
 */
export type RenderedContent =
  | { kind: 'text'; text: string; segments: SmsSegments }
  | {
      kind: 'rich';
      body: string;
      buttons?: { id: string; title: string }[];
      mediaUrl?: string;
      /** What a channel without rich support shows instead (and what the logs never hold). */
      fallbackText: string;
      /** The provider's approved template this variant maps to (WhatsApp outside the 24 h window). */
      whatsappTemplate?: { name: string; language: string; parameters: string[] };
    }
  | { kind: 'voice'; script: string; language: string; voice?: string }
  | { kind: 'ussd-menu'; text: string; options: { key: string; label: string }[] }
  | { kind: 'email'; subject: string; html: string; text: string; marketing: boolean };

export type RenderedKind = RenderedContent['kind'];

/** An SMS body's encoding and how many parts it takes (GSM-7: 160 alone, 153 per part; UCS-2: 70 / 67). */
export interface SmsSegments {
  encoding: 'GSM-7' | 'UCS-2';
  segments: number;
  /** Characters as the encoding counts them (GSM-7 extension characters count 2; UCS-2 counts UTF-16 units). */
  characters: number;
}
