import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { ApiKey, Role } from '../config.js';
import { AppError } from '../errors.js';

/** Who a console session is: the key's name and role, and the CSRF token its writes must carry. */
export interface SessionData {
  name: string;
  role: Extract<Role, 'admin' | 'agent'>;
  csrf: string;
  /** Expiry, epoch ms. */
  exp: number;
  /** A tag of the key signed in with (an HMAC of its secret): the session lasts as long as that key does. */
  k: string;
}

export const SESSION_COOKIE = 'signalbox_session';
/** A console session lasts a working day. */
export const SESSION_MS = 8 * 3_600_000;

const b64 = (b: Buffer | string) => Buffer.from(b).toString('base64url');

/**
 * Console sessions as signed cookies (HMAC-SHA256 with a server secret): no session table, and
 * every instance sharing the secret accepts them. The cookie is HttpOnly and SameSite=Strict; a
 * write also needs the session's CSRF token in a header, which a page of another origin cannot read.
 */
export class ConsoleSessions {
  private readonly key: Buffer;

  constructor(secret: string) {
    this.key = Buffer.from(secret);
  }

  private mac(payload: string): string {
    return createHmac('sha256', this.key).update(payload).digest('base64url');
  }

  /** The tag of a key's secret a session carries (not the secret, nor anything it can be found from). */
  keyTag(secret: string): string {
    return this.mac(`key:${secret}`).slice(0, 22);
  }

  issue(who: { name: string; role: SessionData['role']; secret: string }, now: number): { cookie: string; data: SessionData } {
    const data: SessionData = {
      name: who.name,
      role: who.role,
      csrf: randomBytes(24).toString('base64url'),
      exp: now + SESSION_MS,
      k: this.keyTag(who.secret),
    };
    const payload = b64(JSON.stringify(data));
    return { cookie: `${payload}.${this.mac(payload)}`, data };
  }

  /** The session a cookie value stands for, or null (forged, altered or expired). */
  read(value: string | undefined, now: number): SessionData | null {
    if (value === undefined) return null;
    const [payload, mac] = value.split('.');
    if (payload === undefined || mac === undefined) return null;
    const want = Buffer.from(this.mac(payload));
    const got = Buffer.from(mac);
    if (want.length !== got.length || !timingSafeEqual(want, got)) return null;
    try {
      const d = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as SessionData;
      if (typeof d.exp !== 'number' || d.exp <= now || (d.role !== 'admin' && d.role !== 'agent') || typeof d.k !== 'string') return null;
      return d;
    } catch {
      return null;
    }
  }

  /**
   * Whether the key the session was signed in with is still configured, with the same name and role:
   * a key removed, rotated or given another role ends its sessions at once (not when they expire).
   */
  keyStillValid(s: SessionData, keys: readonly ApiKey[]): boolean {
    return keys.some((k) => k.name === s.name && k.role === s.role && this.keyTag(k.secret) === s.k);
  }

  /** Whether a request's CSRF header matches its session's token (compared in constant time). */
  static csrfOk(session: SessionData, header: string | undefined): boolean {
    if (header === undefined) return false;
    const a = Buffer.from(session.csrf);
    const b = Buffer.from(header);
    return a.length === b.length && timingSafeEqual(a, b);
  }
}

/** The value of one cookie in a Cookie header. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  for (const part of header.split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === name) return part.slice(i + 1).trim();
  }
  return undefined;
}

/** The session cookie's attributes: HttpOnly, SameSite=Strict, Secure behind HTTPS. */
export function sessionCookie(value: string, secure: boolean, maxAgeMs: number): string {
  return `${SESSION_COOKIE}=${value}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${Math.floor(maxAgeMs / 1000)}${secure ? '; Secure' : ''}`;
}

/**
 * Sessions signed out before they expire: kept (by their CSRF token, unique to a session) until
 * they would have expired, where the used OAuth states are (on Redis with REDIS_URL: every instance
 * refuses a signed-out session).
 */
export class SignedOut {
  constructor(
    /** Keys that expire (keyv on Redis, or the store: StoredMarks). */
    private readonly store: { get(key: string): Promise<unknown>; set(key: string, value: true, ttl: number): Promise<unknown> },
  ) {}

  async add(s: SessionData, now: number): Promise<void> {
    await this.unavailableAs503(() => this.store.set(`session-out:${s.csrf}`, true, Math.max(1, s.exp - now)));
  }

  async has(s: SessionData): Promise<boolean> {
    return (await this.unavailableAs503(() => this.store.get(`session-out:${s.csrf}`))) !== undefined;
  }

  /** The cache down (Redis unreachable): a coded 503, as for the OAuth states, not a 500. */
  private async unavailableAs503<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch {
      throw new AppError(503, 'CACHE_UNAVAILABLE', 'console sessions cannot be checked right now: try again in a moment');
    }
  }
}
