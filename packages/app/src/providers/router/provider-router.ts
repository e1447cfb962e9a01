import type { ChannelProvider, SendResult } from '@signalbox/engine';
import type { ProviderMessage } from '../outbound.js';
import type { ProviderHealth } from './provider-health.js';
import { type RouteTable, routeFor } from './routes.js';

/**
 * The provider a plan names by default, routed: each channel (and market) goes to the provider
 * accounts the route table lists, in order. A provider that is down or throttled (a retryable
 * failure) rests and the next one is asked at once; the way it went is returned as the attempt's
 * `route` ("twilio: unreachable (ECONNREFUSED); sent by telerivet"). A permanent refusal (an
 * unsubscribed or invalid recipient) is the answer: another provider would refuse it too.
 * Channels without a route go to `fallback` (the sandbox).
 */
export class ProviderRouter implements ChannelProvider {
  constructor(
    readonly name: string,
    private readonly d: {
      routes: RouteTable;
      providers: ReadonlyMap<string, ChannelProvider>;
      fallback: ChannelProvider;
      health: ProviderHealth;
    },
  ) {}

  async send(m: ProviderMessage): Promise<SendResult> {
    const chain = routeFor(this.d.routes, m.channel, m.market);
    if (chain.length === 0) return this.d.fallback.send(m);
    const notes: string[] = [];
    for (const name of chain) {
      const provider = this.d.providers.get(name);
      if (provider === undefined) {
        notes.push(`${name}: not configured`);
        continue;
      }
      const resting = this.d.health.restingUntil(name);
      if (resting !== null) {
        notes.push(`${name}: resting after failures until ${new Date(resting).toISOString()}`);
        continue;
      }
      const r = await provider.send(m);
      if (r.status === 'accepted' || !r.retryable) {
        if (r.status === 'accepted') this.d.health.succeeded(name);
        if (notes.length > 0) notes.push(`${r.status === 'accepted' ? 'sent' : 'refused'} by ${name}`);
        return { ...r, provider: name, ...(notes.length > 0 ? { route: notes.join('; ') } : {}) };
      }
      this.d.health.failed(name);
      notes.push(`${name}: ${r.error}`);
    }
    return {
      status: 'failed',
      error: `no provider for ${m.channel} could take it`,
      retryable: true,
      provider: chain[0] as string,
      route: notes.join('; '),
    };
  }
}
