import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Logger } from '../logger.js';
import type { KeyGuesses, SharedFailure } from './key-guesses.js';

/** The PostgreSQL notification channel wrong keys go by. */
export const KEY_GUESSES_CHANNEL = 'signalbox_key_guesses';

/** Notifications under way at once at most; past it a failure is not told (a flood of new keys costs the database nothing more). */
const MAX_IN_FLIGHT = 32;

type Listen = (channel: string, onPayload: (payload: string | null) => void) => Promise<{ close(): Promise<void> }>;
type Notify = (channel: string, payload: string) => Promise<void>;

/**
 * Wrong keys counted together by the instances that share a PostgreSQL database (the production
 * profile; on SQLite there is one process): each failure an instance counts goes to the others by
 * NOTIFY (`schema:{"i":instance,"g":guesser,"k":key,"at":ms,"m":mac}`, keyed fingerprints only,
 * heard within milliseconds), and each counts what it hears as its own (KeyGuesses.heard). Ten
 * different wrong keys spread over any number of instances make the address wait on all of them.
 * Only a key new for its guesser is told, at most MAX_IN_FLIGHT at once. Anyone who may connect to
 * the database may LISTEN and NOTIFY: the fingerprints are keyed, and a notification is taken only
 * with the MAC made with the secret the instances share (one without it could lock any address out,
 * or push a guesser out of the limiter's memory with made-up ones). A failure told while the
 * listening connection of another instance was down is not counted there (the limit holds back
 * guessing; it is not a ledger). Telling is fire and forget: a request is never held up by it, and
 * a failure to tell is logged.
 */
export class KeyGuessesShared {
  private listening: { close(): Promise<void> } | null = null;
  private inFlight = 0;

  constructor(
    private readonly d: {
      listen: Listen;
      notify: Notify;
      /** This instance: what it told itself is not counted twice. */
      instance: string;
      /** Shared by the instances (the one KeyGuesses' fingerprints are keyed with): signs what is told. */
      secret: Buffer;
      log: Logger;
      now: () => number;
    },
  ) {}

  /** Tells the other instances of a failure counted here. */
  tell(f: SharedFailure): void {
    if (this.inFlight >= MAX_IN_FLIGHT) return;
    this.inFlight++;
    const payload = JSON.stringify({ i: this.d.instance, g: f.guesser, k: f.key, at: f.at, m: this.mac(this.d.instance, f) });
    this.d
      .notify(KEY_GUESSES_CHANNEL, payload)
      .catch((err: unknown) => {
        this.d.log.warn({ err: (err as Error).message }, 'a wrong API key could not be told to the other instances');
      })
      .finally(() => {
        this.inFlight--;
      });
  }

  /**
   * Counts in `guesses` what the other instances tell from now on; `schema`: the one whose
   * notifications are ours, as the database names it (tests share a database between schemas).
   */
  async start(guesses: KeyGuesses, schema: string): Promise<void> {
    if (this.listening !== null) return;
    const ours = `${schema}:`;
    this.listening = await this.d.listen(KEY_GUESSES_CHANNEL, (payload) => {
      // null: the connection came back (what was told meanwhile is gone); another schema's: not ours
      if (payload === null || !payload.startsWith(ours)) return;
      const f = parse(payload.slice(ours.length));
      if (f === null || f.instance === this.d.instance || !this.signed(f)) return;
      guesses.heard(f, this.d.now());
    });
  }

  private mac(instance: string, f: SharedFailure): string {
    return createHmac('sha256', this.d.secret).update(`${instance}\n${f.guesser}\n${f.key}\n${f.at}`).digest('base64url');
  }

  private signed(f: SharedFailure & { instance: string; mac: string }): boolean {
    const want = Buffer.from(this.mac(f.instance, f));
    const got = Buffer.from(f.mac);
    return got.length === want.length && timingSafeEqual(got, want);
  }

  async stop(): Promise<void> {
    const l = this.listening;
    this.listening = null;
    await l?.close();
  }
}

/** A failure as told, or null for anything else (KeyGuesses.heard checks the fingerprints' shape). */
function parse(text: string): (SharedFailure & { instance: string; mac: string }) | null {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof v !== 'object' || v === null) return null;
  const { i, g, k, at, m } = v as Record<string, unknown>;
  if (typeof i !== 'string' || typeof g !== 'string' || typeof k !== 'string' || typeof at !== 'number' || typeof m !== 'string')
    return null;
  return { instance: i, guesser: g, key: k, at, mac: m };
}
