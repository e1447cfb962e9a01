import type { ConsentRecord } from '@signalbox/engine';
import type { Conn } from '../db/connection.js';
import { arg, prepared } from '../db/prepared.js';
import { COLUMNS, type ConsentLedgerTable } from '../db/schema.js';
import { uuidv7 } from '../ids.js';

/** The append-only consent ledger: every grant and revocation, with its source and evidence. */
export class ConsentLedger {
  constructor(private readonly c: Conn) {}

  async append(contactId: string, r: ConsentRecord, now: number): Promise<string> {
    const id = uuidv7(now);
    await this.c.db
      .insertInto('consent_ledger')
      .values({
        id,
        contact_id: contactId,
        channel: r.channel,
        purpose: r.purpose,
        status: r.status,
        source: r.source,
        legal_basis: r.legalBasis ?? null,
        evidence: r.evidence ?? null,
        // never later than it was recorded: the latest line wins, and a line dated ahead would outrank every
        // later STOP (an agent's typo, a provider's clock, a forged field)
        at: Math.min(Date.parse(r.at), now),
        recorded_at: now,
      })
      .execute();
    return id;
  }

  /** A contact's ledger in the order things happened (the later line wins when folded). */
  async of(contactId: string): Promise<ConsentRecord[]> {
    const { rows } = await prepared(
      this.c,
      'consent ledger',
      (d) => d.selectFrom('consent_ledger').select(COLUMNS.consent_ledger).where('contact_id', '=', arg(0)).orderBy('at').orderBy('id'),
      [contactId],
    );
    return rows.map(consentRecordOf);
  }

  /**
   * Ledger lines recorded after a cursor (`recordedAt:id`), oldest first, but those whose source is
   * `exclude` (the CRM's own lines are not written back to it).
   */
  async recordedAfter(
    cursor: string | null,
    limit: number,
    exclude: ConsentRecord['source'],
  ): Promise<Array<{ cursor: string; contactId: string; record: ConsentRecord }>> {
    const [at, id] = cursor === null ? [-1, ''] : [Number(cursor.split(':')[0]), cursor.slice(cursor.indexOf(':') + 1)];
    const rows = await this.c.db
      .selectFrom('consent_ledger')
      .selectAll()
      .where((eb) => eb.or([eb('recorded_at', '>', at), eb.and([eb('recorded_at', '=', at), eb('id', '>', id)])]))
      .where('source', '!=', exclude)
      .orderBy('recorded_at')
      .orderBy('id')
      .limit(limit)
      .execute();
    return rows.map((r) => ({
      cursor: `${Number(r.recorded_at)}:${r.id}`,
      contactId: r.contact_id,
      record: {
        channel: r.channel,
        purpose: r.purpose as ConsentRecord['purpose'],
        status: r.status as ConsentRecord['status'],
        source: r.source as ConsentRecord['source'],
        at: new Date(Number(r.at)).toISOString(),
        ...(r.evidence !== null ? { evidence: r.evidence } : {}),
      },
    }));
  }
}

/** A ledger line as the engine reads it. */
export function consentRecordOf(r: Omit<ConsentLedgerTable, 'id' | 'contact_id' | 'recorded_at'>): ConsentRecord {
  const rec: ConsentRecord = {
    channel: r.channel,
    purpose: r.purpose as ConsentRecord['purpose'],
    status: r.status as ConsentRecord['status'],
    source: r.source as ConsentRecord['source'],
    at: new Date(Number(r.at)).toISOString(),
  };
  if (r.legal_basis !== null) rec.legalBasis = r.legal_basis;
  if (r.evidence !== null) rec.evidence = r.evidence;
  return rec;
}
