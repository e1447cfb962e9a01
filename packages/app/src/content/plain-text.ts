import type { RenderedContent } from '@signalbox/engine';

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
