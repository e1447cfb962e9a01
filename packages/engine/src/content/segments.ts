import type { SmsSegments } from './rendered.js';

/** GSM 03.38 basic character set (one septet each). */
const GSM_BASIC = new Set(
  '@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà',
);
/** The extension table: reached through ESC, so each costs two septets. */
const GSM_EXTENSION = new Set('^{}\\[~]|€\f');

/**
 * How an SMS body is encoded and how many parts it takes. GSM-7 when every character is in the
 * basic or extension table (extension characters count 2): 160 alone, 153 per part. Otherwise the
 * whole message is UCS-2, counted in UTF-16 code units (an emoji is 2): 70 alone, 67 per part.
 * A part never splits an escape sequence or a surrogate pair.
 */
export function smsSegments(text: string): SmsSegments {
  let gsm = true;
  for (const ch of text) {
    if (!GSM_BASIC.has(ch) && !GSM_EXTENSION.has(ch)) {
      gsm = false;
      break;
    }
  }
  if (gsm) {
    let characters = 0;
    for (const ch of text) characters += GSM_EXTENSION.has(ch) ? 2 : 1;
    if (characters <= 160) return { encoding: 'GSM-7', segments: characters === 0 ? 0 : 1, characters };
    return { encoding: 'GSM-7', segments: pack(text, 153, (ch) => (GSM_EXTENSION.has(ch) ? 2 : 1)), characters };
  }
  const characters = text.length;
  if (characters <= 70) return { encoding: 'UCS-2', segments: 1, characters };
  return { encoding: 'UCS-2', segments: pack(text, 67, (ch) => ch.length), characters };
}

/** Parts needed when no character (escape pair, surrogate pair) may straddle two parts. */
function pack(text: string, perPart: number, size: (ch: string) => number): number {
  let parts = 1;
  let used = 0;
  for (const ch of text) {
    const n = size(ch);
    if (used + n > perPart) {
      parts++;
      used = 0;
    }
    used += n;
  }
  return parts;
}
