import type { Ruleset } from '@signalbox/engine';

export type KeywordAction = 'stopAll' | 'stop' | 'start' | 'help';

/** Courtesy around a keyword that does not change what it means ("STOP please", "please stop"). */
const BEFORE = /^(?:PLEASE|PLS|PLZ)\s+/;
const AFTER = /\s+(?:PLEASE|PLS|PLZ|NOW|THANKS|THANK YOU|THX|TY)$/;

/**
 * A reply as keywords are matched: accents and case folded, punctuation and emoji gone, spaces
 * collapsed ("Stop!" → "STOP", "Un-subscribe." → "UN SUBSCRIBE").
 */
export function normaliseReply(text: string): string {
  return text
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .toUpperCase()
    .replace(/[^\p{L}\p{N}]+/gu, ' ')
    .trim();
}

const compact = (s: string) => s.replace(/\s+/g, '');

/**
 * Which consent keyword a reply is, if any. Revocation must work "by any reasonable means": the
 * reply is matched after normalising punctuation, spacing and case ("STOP ALL", "stop-all" and
 * "Stop all!" are STOPALL; "OPT OUT" is OPTOUT) and without courtesy words around it. Stop-all is
 * tried before stop, and stopping before starting: an ambiguous reply never grants consent.
 */
export function keywordOf(text: string, keywords: Ruleset['consent']['keywords']): KeywordAction | null {
  const plain = normaliseReply(text);
  if (plain === '') return null;
  const candidates = new Set([plain, plain.replace(BEFORE, '').replace(AFTER, '')]);
  const is = (words: readonly string[]) => {
    const wanted = new Set(words.map((w) => compact(normaliseReply(w))));
    for (const c of candidates) if (wanted.has(compact(c))) return true;
    return false;
  };
  if (is(keywords.stopAll.words)) return 'stopAll';
  if (is(keywords.stop.words)) return 'stop';
  if (is(keywords.start.words)) return 'start';
  if (is(keywords.help.words)) return 'help';
  return null;
}
