import type { Conn } from '../db/connection.js';
import { arg, prepared } from '../db/prepared.js';

/** Signatures of signed requests already accepted, each kept until a replay of it could no longer verify. */
export class SeenSignatures {
  constructor(private readonly c: Conn) {}

  /** Records a signature; false when it was seen before and has not expired (a replay). */
  async firstUse(signature: string, now: number, until: number): Promise<boolean> {
    const r = await prepared(
      this.c,
      'first use of signature',
      (d) =>
        d
          .insertInto('seen_signatures')
          .values({ signature: arg(0), expires_at: arg(1) })
          .onConflict((oc) =>
            oc
              .column('signature')
              .doUpdateSet({ expires_at: arg(1) })
              .where('seen_signatures.expires_at', '<=', arg(2)),
          )
          .returning('signature'),
      [signature, until, now],
    );
    return r.rows.length > 0;
  }

  /** Whether a mark made with `mark` is still in force. */
  async marked(key: string, now: number): Promise<boolean> {
    const r = await prepared(
      this.c,
      'signature marked',
      (d) => d.selectFrom('seen_signatures').select('signature').where('signature', '=', arg(0)).where('expires_at', '>', arg(1)),
      [key, now],
    );
    return r.rows.length > 0;
  }

  /** Marks `key` until `until` (marked again: `until` replaces the time it had), whether or not it was marked. */
  async mark(key: string, until: number): Promise<void> {
    await prepared(
      this.c,
      'mark signature',
      (d) =>
        d
          .insertInto('seen_signatures')
          .values({ signature: arg(0), expires_at: arg(1) })
          .onConflict((oc) => oc.column('signature').doUpdateSet({ expires_at: arg(1) })),
      [key, until],
    );
  }

  async unmark(key: string): Promise<void> {
    await prepared(this.c, 'unmark signature', (d) => d.deleteFrom('seen_signatures').where('signature', '=', arg(0)), [key]);
  }

  /** Forgets signatures whose window has passed; returns how many. */
  async purge(now: number): Promise<number> {
    const r = await this.c.db.deleteFrom('seen_signatures').where('expires_at', '<', now).executeTakeFirst();
    return Number(r.numDeletedRows);
  }
}
