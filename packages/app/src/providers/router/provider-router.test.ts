import type { ChannelProvider, OutboundMessage, SendResult } from '@signalbox/engine';
import { describe, expect, it } from 'vitest';
import { ProviderHealth } from './provider-health.js';
import { ProviderRouter } from './provider-router.js';
import { parseRoutes, RouteSyntaxError, routeFor } from './routes.js';

/** A provider answering from a script, counting its calls. */
class Scripted implements ChannelProvider {
  calls: OutboundMessage[] = [];
  constructor(
    readonly name: string,
    public answer: (m: OutboundMessage) => SendResult,
  ) {}
  async send(m: OutboundMessage): Promise<SendResult> {
    this.calls.push(m);
    return this.answer(m);
  }
}
const ok = (name: string) => new Scripted(name, (m) => ({ status: 'accepted', providerMessageId: `${name}-${m.claim}`, cost: 0.01 }));
const msg = (channel: string, market?: string): OutboundMessage => ({
  claim: `c-${Math.random()}`,
  messageId: 'm',
  channel,
  to: '+254700000001',
  content: 'text',
  template: null,
  variables: {},
  estimatedCost: 0.01,
  ...(market ? { market } : {}),
});

function router(routes: string, providers: Scripted[], now = () => 0) {
  const sandbox = ok('sandbox');
  return {
    sandbox,
    r: new ProviderRouter('sandbox', {
      routes: parseRoutes(routes),
      providers: new Map(providers.map((p) => [p.name, p])),
      fallback: sandbox,
      health: new ProviderHealth(now),
    }),
  };
}

describe('routes', () => {
  it('a market has its own route, else the channel route, else none', () => {
    const t = parseRoutes('sms=twilio,telerivet; sms@KE=telerivet,twilio ;email=smtp');
    expect(routeFor(t, 'sms', 'KE')).toEqual(['telerivet', 'twilio']);
    expect(routeFor(t, 'sms', 'DE')).toEqual(['twilio', 'telerivet']);
    expect(routeFor(t, 'sms', undefined)).toEqual(['twilio', 'telerivet']);
    expect(routeFor(t, 'voice', 'KE')).toEqual([]);
  });

  it('refuses what it cannot read', () => {
    expect(() => parseRoutes('sms')).toThrow(RouteSyntaxError);
    expect(() => parseRoutes('sms=twilio;sms=telerivet')).toThrow(/routed twice/);
    expect(() => parseRoutes('sms=twilio,twilio')).toThrow(/named twice/);
    expect(() => parseRoutes('sms@ke=twilio')).toThrow(RouteSyntaxError);
  });
});

describe('the provider router', () => {
  it('sends through the first provider of the route and says nothing more', async () => {
    const twilio = ok('twilio');
    const { r } = router('sms=twilio,telerivet', [twilio, ok('telerivet')]);
    const res = await r.send(msg('sms'));
    expect(res).toMatchObject({ status: 'accepted', provider: 'twilio' });
    expect(res.route).toBeUndefined();
  });

  it('fails over to the next provider when one is down, records why, and lets the failed one rest', async () => {
    let t = 0;
    const twilio = new Scripted('twilio', () => ({ status: 'failed', error: 'twilio answered 503', retryable: true }));
    const telerivet = ok('telerivet');
    const { r } = router('sms=twilio,telerivet', [twilio, telerivet], () => t);
    const first = await r.send(msg('sms'));
    expect(first).toMatchObject({ status: 'accepted', provider: 'telerivet' });
    expect(first.route).toBe('twilio: twilio answered 503; sent by telerivet');
    // resting: not asked again for a second
    const second = await r.send(msg('sms'));
    expect(second.provider).toBe('telerivet');
    expect(second.route).toMatch(/^twilio: resting after failures until/);
    expect(twilio.calls).toHaveLength(1);
    // back after its rest, and healthy again once it answers
    t = 1_000;
    twilio.answer = (m) => ({ status: 'accepted', providerMessageId: `tw-${m.claim}`, cost: 0.01 });
    expect((await r.send(msg('sms'))).provider).toBe('twilio');
    expect(twilio.calls).toHaveLength(2);
  });

  it('rests a provider longer each time it keeps failing', async () => {
    let t = 0;
    const h = new ProviderHealth(() => t);
    expect(h.failed('x')).toBe(1_000);
    t = 1_000;
    expect(h.restingUntil('x')).toBeNull();
    expect(h.failed('x')).toBe(3_000);
    t = 3_000;
    expect(h.failed('x')).toBe(7_000);
    h.succeeded('x');
    expect(h.restingUntil('x')).toBeNull();
  });

  it('takes a permanent refusal as the answer (another provider would refuse the recipient too)', async () => {
    const twilio = new Scripted('twilio', () => ({
      status: 'failed',
      error: 'twilio 21610',
      retryable: false,
      outcome: 'consent-revoked',
    }));
    const telerivet = ok('telerivet');
    const { r } = router('sms=twilio,telerivet', [twilio, telerivet]);
    expect(await r.send(msg('sms'))).toMatchObject({ status: 'failed', outcome: 'consent-revoked', provider: 'twilio' });
    expect(telerivet.calls).toHaveLength(0);
  });

  it('when every provider is down: a retryable failure with each reason', async () => {
    const down = (name: string) => new Scripted(name, () => ({ status: 'failed', error: `${name} unreachable`, retryable: true }));
    const { r } = router('sms=twilio,telerivet', [down('twilio'), down('telerivet')]);
    expect(await r.send(msg('sms'))).toMatchObject({
      status: 'failed',
      retryable: true,
      route: 'twilio: twilio unreachable; telerivet: telerivet unreachable',
    });
  });

  it('routes by market, and leaves channels without a route to the sandbox', async () => {
    const twilio = ok('twilio');
    const telerivet = ok('telerivet');
    const { r, sandbox } = router('sms=twilio;sms@KE=telerivet', [twilio, telerivet]);
    expect((await r.send(msg('sms', 'KE'))).provider).toBe('telerivet');
    expect((await r.send(msg('sms', 'US'))).provider).toBe('twilio');
    await r.send(msg('viber', 'KE'));
    expect(sandbox.calls).toHaveLength(1);
  });
});
