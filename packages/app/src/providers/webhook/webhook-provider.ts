import { type Limiters, LocalLimiters } from '@signalbox/connectors';
import type { ChannelProvider, OutboundMessage, SendResult } from '@signalbox/engine';
import type Bottleneck from 'bottleneck';
import { sign } from '../../security/signature.js';
import { postJson } from './http-post.js';
import { assertTarget, isPublicAddress, publicOnlyLookup, SsrfError } from './ssrf.js';

export interface WebhookProviderOptions {
  name?: string;
  /** The customer's gateway URL per channel. */
  urls: Record<string, string>;
  secret: string;
  allowPrivate?: boolean;
  /** Outbound rate limit for this provider. */
  maxPerSecond?: number;
  maxConcurrent?: number;
  timeoutMs?: number;
  now: () => number;
  /** Where the sender's limiter comes from (`provider:<name>`, shared by every instance through Redis); default: its own. */
  limiters?: Limiters;
}

/**
 * Sends each message as a signed (HMAC-SHA256, timestamped) POST to the customer's own gateway
 * for that channel; refuses private and loopback targets unless allowed; rate-limited with
 * bottleneck. The gateway answers {providerMessageId, cost}; receipts come back signed the same way.
 */
export class WebhookProvider implements ChannelProvider {
  readonly name: string;
  private readonly limiter: Bottleneck;

  constructor(private readonly o: WebhookProviderOptions) {
    this.name = o.name ?? 'webhook';
    const perSecond = o.maxPerSecond ?? 50;
    this.limiter = (o.limiters ?? new LocalLimiters()).limiter(`provider:${this.name}`, {
      maxConcurrent: o.maxConcurrent ?? 10,
      reservoir: perSecond,
      reservoirRefreshAmount: perSecond,
      reservoirRefreshInterval: 1000,
    });
  }

  async send(m: OutboundMessage): Promise<SendResult> {
    const target = this.o.urls[m.channel];
    if (target === undefined) return { status: 'failed', error: `no gateway configured for ${m.channel}`, retryable: false };
    let url: URL;
    try {
      url = assertTarget(target, this.o.allowPrivate === true);
    } catch (e) {
      return { status: 'failed', error: (e as Error).message, retryable: false };
    }
    const body = JSON.stringify({
      idempotencyKey: m.claim,
      messageId: m.messageId,
      channel: m.channel,
      to: m.to,
      content: m.content,
      ...(m.rendered !== undefined ? { rendered: m.rendered } : {}),
      template: m.template,
      variables: m.variables,
    });
    const guard = this.o.allowPrivate !== true;
    return this.limiter.schedule(async () => {
      try {
        const res = await postJson(
          url,
          {
            'content-type': 'application/json',
            'idempotency-key': m.claim,
            'signalbox-signature': sign(this.o.secret, body, this.o.now()),
          },
          body,
          {
            timeoutMs: this.o.timeoutMs ?? 10_000,
            // the address checked is the one connected to: resolved once, by this lookup
            ...(guard ? { lookup: publicOnlyLookup } : {}),
            checkRemote: (address) => {
              if (guard && (address === undefined || !isPublicAddress(address)))
                throw new SsrfError(`connected to a private or loopback address (${address})`);
            },
          },
        );
        if (res.status < 200 || res.status >= 300)
          return { status: 'failed', error: `gateway answered ${res.status}`, retryable: res.status >= 500 || res.status === 429 } as const;
        let reply: { providerMessageId?: unknown; cost?: unknown } = {};
        try {
          reply = JSON.parse(res.body) as typeof reply;
        } catch {
          // an answer that is not JSON has no provider id: refused below
        }
        if (typeof reply.providerMessageId !== 'string')
          return { status: 'failed', error: 'gateway reply has no providerMessageId', retryable: false } as const;
        return {
          status: 'accepted',
          providerMessageId: reply.providerMessageId,
          cost: typeof reply.cost === 'number' ? reply.cost : 0,
        } as const;
      } catch (e) {
        if (e instanceof SsrfError) return { status: 'failed', error: e.message, retryable: false } as const;
        return { status: 'failed', error: `gateway unreachable: ${(e as Error).message}`, retryable: true } as const;
      }
    });
  }

  async stop(): Promise<void> {
    await this.limiter.stop({ dropWaitingJobs: false });
  }
}
