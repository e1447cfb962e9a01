import type { ConsentRecord } from '../model/consent.js';
import type { Purpose } from '../model/vocabulary.js';

export type ConsentDefaults = Record<Purpose, 'granted' | 'revoked'>;

export interface ConsentAnswer {
  allowed: boolean;
  /** The ledger line that decided it, or null when the ruleset's default did. */
  record: ConsentRecord | null;
}

/**
 * Current consent as a fold over the append-only ledger. For a channel × purpose the latest line
 * that covers it wins (`*` covers every channel or purpose); on the same instant the more specific
 * line wins. Nothing on record → the ruleset's default for the purpose.
 */
export class ConsentState {
  private readonly latest = new Map<string, { record: ConsentRecord; at: number }>();

  constructor(
    records: readonly ConsentRecord[],
    private readonly defaults: ConsentDefaults,
  ) {
    for (const record of records) {
      const key = `${record.channel}|${record.purpose}`;
      const at = Date.parse(record.at);
      const prev = this.latest.get(key);
      if (prev === undefined || at >= prev.at) this.latest.set(key, { record, at });
    }
  }

  get isEmpty(): boolean {
    return this.latest.size === 0;
  }

  answer(channel: string, purpose: Purpose): ConsentAnswer {
    if (this.latest.size === 0) return { allowed: this.defaults[purpose] === 'granted', record: null };
    let best: { record: ConsentRecord; at: number } | undefined;
    // most specific first: on equal instants the first found stays
    for (const key of [`${channel}|${purpose}`, `${channel}|*`, `*|${purpose}`, '*|*']) {
      const hit = this.latest.get(key);
      if (hit !== undefined && (best === undefined || hit.at > best.at)) best = hit;
    }
    if (best === undefined) return { allowed: this.defaults[purpose] === 'granted', record: null };
    return { allowed: best.record.status === 'granted', record: best.record };
  }

  allows(channel: string, purpose: Purpose): boolean {
    return this.answer(channel, purpose).allowed;
  }
}

export function foldConsent(records: readonly ConsentRecord[], defaults: ConsentDefaults): ConsentState {
  return new ConsentState(records, defaults);
}
