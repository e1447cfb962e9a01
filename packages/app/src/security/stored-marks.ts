import type { SeenSignatures } from './seen-signatures.js';

/**
 * Marks that expire, kept in the store (the table of seen signatures, each key prefixed so that it
 * can never be a signature): the OAuth states used and the console sessions signed out, where no
 * Redis is configured. In this process's memory they were forgotten by a restart (a signed-out
 * session cookie worked again) and unknown to the other instances sharing a PostgreSQL database.
 * The same three calls as keyv's (`get`, `set` with a time to live, `delete`), and an atomic
 * `setIfAbsent` (a state is good once even when two instances take the same callback at once).
 */
export class StoredMarks {
  constructor(
    private readonly seen: Pick<SeenSignatures, 'marked' | 'mark' | 'unmark' | 'firstUse'>,
    private readonly namespace: string,
    /** Wall-clock time (sessions and states expire by it). */
    private readonly now: () => number = () => Date.now(),
  ) {}

  private key(k: string): string {
    return `mark:${this.namespace}:${k}`;
  }

  async get(key: string): Promise<true | undefined> {
    return (await this.seen.marked(this.key(key), this.now())) ? true : undefined;
  }

  async set(key: string, _value: true, ttl: number): Promise<boolean> {
    await this.seen.mark(this.key(key), this.now() + Math.max(1, ttl));
    return true;
  }

  /** Marks `key` unless it is marked and in force, in one statement: true when this call marked it. */
  setIfAbsent(key: string, ttl: number): Promise<boolean> {
    const now = this.now();
    return this.seen.firstUse(this.key(key), now, now + Math.max(1, ttl));
  }

  async delete(key: string): Promise<boolean> {
    await this.seen.unmark(this.key(key));
    return true;
  }
}
