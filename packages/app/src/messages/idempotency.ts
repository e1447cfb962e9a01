import { type Conn, json, parseJson } from '../db/connection.js';

export interface IdempotentAnswer {
  requestHash: string;
  status: number;
  response: unknown;
}

/** First answers to requests sent with an `Idempotency-Key`, per caller: a retry gets the same answer. */
export class IdempotencyKeys {
  constructor(private readonly c: Conn) {}

  async get(scope: string, key: string): Promise<IdempotentAnswer | null> {
    const r = await this.c.db.selectFrom('idempotency').selectAll().where('scope', '=', scope).where('key', '=', key).executeTakeFirst();
    return r ? { requestHash: r.request_hash, status: r.status, response: parseJson(r.response) } : null;
  }

  /** Keeps the first answer; false when another request with the key got there first. */
  async put(scope: string, key: string, answer: IdempotentAnswer, now: number): Promise<boolean> {
    const r = await this.c.db
      .insertInto('idempotency')
      .values({ scope, key, request_hash: answer.requestHash, status: answer.status, response: json(answer.response), created_at: now })
      .onConflict((oc) => oc.columns(['scope', 'key']).doNothing())
      .returning('key')
      .executeTakeFirst();
    return r !== undefined;
  }

  /** Replaces the answer kept for a key (in the transaction that put it: the first answer once known). */
  async settle(scope: string, key: string, response: unknown): Promise<void> {
    await this.c.db
      .updateTable('idempotency')
      .set({ response: json(response) })
      .where('scope', '=', scope)
      .where('key', '=', key)
      .execute();
  }
}
