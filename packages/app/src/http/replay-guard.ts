import KeyvRedis from '@keyv/redis';
import Keyv from 'keyv';

/**
 * Remembers the signatures of timestamped (v3) requests for as long as their timestamp is
 * acceptable, so a captured request cannot be sent again inside the window. In-process, exact;
 * with Redis (REDIS_URL) also across every Signalbox instance behind the same load balancer.
 */
export class ReplayGuard {
  private readonly local = new Map<string, number>();
  private readonly shared: Keyv<number> | null;

  constructor(
    private readonly windowMs: number,
    redisUrl?: string,
  ) {
    this.shared = redisUrl ? new Keyv<number>({ store: new KeyvRedis(redisUrl), namespace: 'signalbox:replay' }) : null;
  }

  /** True the first time a signature is seen within the window; false for a replay. */
  async firstUse(signature: string, now: number): Promise<boolean> {
    if (this.local.size > 50_000) for (const [k, exp] of this.local) if (exp <= now) this.local.delete(k);
    const exp = this.local.get(signature);
    if (exp !== undefined && exp > now) return false;
    this.local.set(signature, now + this.windowMs);
    if (this.shared === null) return true;
    if ((await this.shared.get(signature)) !== undefined) return false;
    await this.shared.set(signature, now, this.windowMs);
    return true;
  }

  async close(): Promise<void> {
    await this.shared?.disconnect();
  }
}
