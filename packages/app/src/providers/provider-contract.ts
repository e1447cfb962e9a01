import type { ChannelProvider } from '@signalbox/engine';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProviderMessage } from './outbound.js';

/** One implementation of the provider port, set up against its local backend. */
export interface ContractSubject {
  provider: ChannelProvider;
  /** A channel it carries, and an address there that its backend accepts. */
  channel: string;
  to: string;
  /** A channel it does not carry (none: it carries every channel). */
  unsupportedChannel?: string;
  /** Makes its backend unavailable, and brings it back. */
  outage?: { begin(): void; end(): void };
  /** The text its backend received last (when the backend sees text). */
  lastText?: () => Promise<string | null>;
  close(): Promise<void>;
}

let seq = 0;
export const contractMessage = (o: Partial<ProviderMessage> & { channel: string; to: string }): ProviderMessage => {
  seq++;
  return {
    claim: `contract-${seq}:0`,
    messageId: `contract-${seq}`,
    content: 'text',
    template: 'payment_reminder_friendly',
    variables: {},
    estimatedCost: 0.02,
    ...o,
  };
};

/** The provider port's contract, run against every implementation. */
export function providerContract(name: string, setup: () => Promise<ContractSubject>): void {
  describe(`provider contract: ${name}`, () => {
    let s: ContractSubject;
    beforeAll(async () => {
      s = await setup();
    });
    afterAll(async () => s?.close());

    it('accepts a message on its channel with a provider message id and the cost', async () => {
      const r = await s.provider.send(contractMessage({ channel: s.channel, to: s.to }));
      expect(r.status).toBe('accepted');
      if (r.status !== 'accepted') return;
      expect(r.providerMessageId).toMatch(/\S{6,}/);
      expect(r.cost).toBeGreaterThanOrEqual(0);
    });

    it('gives two messages two provider ids', async () => {
      const a = await s.provider.send(contractMessage({ channel: s.channel, to: s.to }));
      const b = await s.provider.send(contractMessage({ channel: s.channel, to: s.to }));
      expect(a.status === 'accepted' && b.status === 'accepted' && a.providerMessageId !== b.providerMessageId).toBe(true);
    });

    if (name !== 'sandbox') {
      it('answers a failure as data, never by throwing, for an address its backend refuses', async () => {
        const r = await s.provider.send(contractMessage({ channel: s.channel, to: 'not-an-address' }));
        expect(r.status).toBe('failed');
        if (r.status === 'failed') expect(r.error.length).toBeGreaterThan(0);
      });
    }

    const unsupported = () => s.unsupportedChannel as string;
    it('refuses a channel it does not carry, for good (not retryable), or carries every channel', async () => {
      if (s.unsupportedChannel === undefined) {
        for (const channel of ['sms', 'whatsapp', 'voice', 'email'])
          expect((await s.provider.send(contractMessage({ channel, to: s.to }))).status).toBe('accepted');
        return;
      }
      const r = await s.provider.send(contractMessage({ channel: unsupported(), to: s.to }));
      expect(r).toMatchObject({ status: 'failed', retryable: false });
    });

    it('says a backend outage is worth retrying (elsewhere), without throwing', async () => {
      if (s.outage === undefined) {
        // the sandbox is its own backend: it has no outage to report
        expect(s.provider.name).toBe('sandbox');
        return;
      }
      s.outage.begin();
      try {
        const r = await s.provider.send(contractMessage({ channel: s.channel, to: s.to }));
        expect(r).toMatchObject({ status: 'failed', retryable: true });
      } finally {
        s.outage.end();
      }
      expect((await s.provider.send(contractMessage({ channel: s.channel, to: s.to }))).status).toBe('accepted');
    });

    it('sends what was rendered, and the template description when nothing was', async () => {
      if (s.lastText === undefined) {
        expect(['sandbox', 'webhook']).toContain(s.provider.name);
        return;
      }
      const rendered =
        s.channel === 'email'
          ? {
              kind: 'email' as const,
              subject: 'Your invoice',
              html: '<p>Pay invoice 42</p>',
              text: 'Pay invoice 42 today',
              marketing: false,
            }
          : s.channel === 'voice'
            ? { kind: 'voice' as const, script: 'Pay invoice 42 today', language: 'en-US' }
            : {
                kind: 'text' as const,
                text: 'Pay invoice 42 today',
                segments: { encoding: 'GSM-7' as const, segments: 1, characters: 20 },
              };
      await s.provider.send(contractMessage({ channel: s.channel, to: s.to, rendered }));
      expect(await s.lastText()).toContain('Pay invoice 42 today');
      await s.provider.send(contractMessage({ channel: s.channel, to: s.to }));
      expect(await s.lastText()).toContain('Friendly reminder');
    });
  });
}
