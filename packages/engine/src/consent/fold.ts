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
  private readonly records: readonly ConsentRecord[];
  private ats: number[] | null = null;

  constructor(
    records: readonly ConsentRecord[],
    private readonly defaults: ConsentDefaults,
  ) {
    // A long ledger is compacted to its latest line per channel × purpose; a short one (the
    // usual case) is scanned as it is, which is cheaper than building maps for it.
    const kept = records.length > 32 ? latestPerKey(records) : records;
    this.records = kept;
  }

  get isEmpty(): boolean {
    return this.records.length === 0;
  }

  answer(channel: string, purpose: Purpose): ConsentAnswer {
    if (this.records.length === 0) return { allowed: this.defaults[purpose] === 'granted', record: null };
    if (this.ats === null) {
      this.ats = [];
      for (const r of this.records) this.ats.push(Date.parse(r.at));
    }
    let best = -1;
    let bestAt = Number.NEGATIVE_INFINITY;
    let bestSpecificity = -1;
    for (let i = 0; i < this.records.length; i++) {
      const r = this.records[i] as ConsentRecord;
      const chExact = r.channel === channel;
      const pExact = r.purpose === purpose;
      if ((!chExact && r.channel !== '*') || (!pExact && r.purpose !== '*')) continue;
      const at = this.ats[i] as number;
      const specificity = (chExact ? 2 : 0) + (pExact ? 1 : 0);
      // latest wins; on the same instant the more specific line; then the later line of the ledger
      if (at > bestAt || (at === bestAt && specificity >= bestSpecificity)) {
        best = i;
        bestAt = at;
        bestSpecificity = specificity;
      }
    }
    if (best < 0) return { allowed: this.defaults[purpose] === 'granted', record: null };
    const record = this.records[best] as ConsentRecord;
    return { allowed: record.status === 'granted', record };
  }

  allows(channel: string, purpose: Purpose): boolean {
    return this.answer(channel, purpose).allowed;
  }
}

function latestPerKey(records: readonly ConsentRecord[]): ConsentRecord[] {
  const latest = new Map<string, { record: ConsentRecord; at: number }>();
  for (const record of records) {
    const key = `${record.channel}|${record.purpose}`;
    const at = Date.parse(record.at);
    const prev = latest.get(key);
    if (prev === undefined || at >= prev.at) latest.set(key, { record, at });
  }
  return [...latest.values()].map((e) => e.record);
}

export function foldConsent(records: readonly ConsentRecord[], defaults: ConsentDefaults): ConsentState {
  return new ConsentState(records, defaults);
}
