/**
 * The content contract between rendering (templates) and providers: what a message says on the
 * channel it goes out on. Owned by the content side; providers read it.
 */
export type RenderedContent =
  | { kind: 'text'; text: string; segments: SmsSegments } // also 'text+link' renders to kind 'text'
  | {
      kind: 'rich';
      body: string;
      buttons?: { id: string; title: string }[];
      mediaUrl?: string;
      fallbackText: string;
      whatsappTemplate?: { name: string; language: string; parameters: string[] };
    }
  | { kind: 'voice'; script: string; language: string; voice?: string }
  | { kind: 'ussd-menu'; text: string; options: { key: string; label: string }[] }
  | { kind: 'email'; subject: string; html: string; text: string; marketing: boolean };
export interface SmsSegments {
  encoding: 'GSM-7' | 'UCS-2';
  segments: number;
  characters: number;
}
