import type { Limiters } from '@signalbox/connectors';
import type { ChannelProvider, SendResult } from '@signalbox/engine';
import { type DescribeTemplate, type ProviderMessage, segmentsOf, textOf, voiceOf } from '../outbound.js';
import { publicBase } from '../public-url.js';
import { SenderLimits } from '../sender-limits.js';

export interface TelerivetSettings {
  name?: string;
  apiKey: string;
  projectId: string;
  /** Default `https://api.telerivet.com/v1`; the local fake in tests. */
  apiBase?: string | undefined;
  /** Our public base URL (callbacks and links point there); a function where it is known only once listening. */
  publicUrl: string | (() => string);
  /** Sent with each message as `status_secret`; Telerivet posts it back in the status callback. */
  statusSecret: string;
  /** The route for SMS, USSD and calls (default: the project's default route). */
  routeId?: string | undefined;
  /** Chat-app routes (WhatsApp, Viber): Telerivet sends these as `chat` messages through the route. */
  chatRoutes: Readonly<Record<string, string>>;
  /** Messages per second per route (Telerivet publishes none: it depends on the route). */
  perSecond: number;
  timeoutMs?: number;
}

const TYPES: Record<string, string> = { sms: 'sms', ussd: 'ussd', voice: 'call' };

/**
 * Telerivet through its REST API (`POST /projects/{id}/messages/send`, Basic auth with the API
 * key): SMS, USSD and voice calls (text to speech), WhatsApp and Viber as `chat` messages through
 * a chat-app route when one is configured. Status callbacks carry `status_secret` back.
 */
export class TelerivetProvider implements ChannelProvider {
  readonly name: string;
  private readonly limits: SenderLimits;
  private readonly base: string;

  constructor(
    private readonly s: TelerivetSettings,
    private readonly describe: DescribeTemplate,
    /** Where the senders' limits live (every instance's, through Redis, in production). */
    limiters?: Limiters,
  ) {
    this.name = s.name ?? 'telerivet';
    this.limits = new SenderLimits({
      perSecond: s.perSecond,
      maxConcurrent: 5,
      ...(limiters ? { shared: { limiters, id: `provider:${this.name}` } } : {}),
    });
    this.base = (s.apiBase ?? 'https://api.telerivet.com/v1').replace(/\/$/, '');
  }

  async send(m: ProviderMessage): Promise<SendResult> {
    const chatRoute = this.s.chatRoutes[m.channel];
    const type = TYPES[m.channel] ?? (chatRoute !== undefined ? 'chat' : undefined);
    if (type === undefined) return { status: 'failed', error: `telerivet has no route for ${m.channel}`, retryable: false };
    const route = chatRoute ?? this.s.routeId;
    const body: Record<string, unknown> = {
      to_number: m.to,
      message_type: type,
      status_url: `${publicBase(this.s.publicUrl)}/hooks/telerivet/status`,
      status_secret: this.s.statusSecret,
      ...(route !== undefined ? { route_id: route } : {}),
    };
    if (type === 'call') {
      const v = voiceOf(m, this.describe);
      Object.assign(body, {
        content: v.script,
        tts_lang: v.language,
        ...(v.voice === 'male' || v.voice === 'female' ? { tts_voice: v.voice } : {}),
      });
    } else {
      const r = m.rendered;
      body.content = r?.kind === 'rich' && type === 'chat' ? r.body : textOf(m, this.describe);
      if (r?.kind === 'rich' && r.mediaUrl !== undefined && type === 'chat') body.media_urls = [r.mediaUrl];
    }
    return this.limits.schedule(route ?? 'default', segmentsOf(m), () => this.post(body, m.estimatedCost));
  }

  private async post(body: Record<string, unknown>, cost: number): Promise<SendResult> {
    let res: Response;
    try {
      res = await fetch(`${this.base}/projects/${encodeURIComponent(this.s.projectId)}/messages/send`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          authorization: `Basic ${Buffer.from(`${this.s.apiKey}:`).toString('base64')}`,
        },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(this.s.timeoutMs ?? 15_000),
      });
    } catch (err) {
      return { status: 'failed', error: `telerivet unreachable: ${(err as Error).message}`, retryable: true };
    }
    const text = await res.text();
    let json: { id?: unknown; error?: { code?: unknown; message?: unknown; param?: unknown } } = {};
    try {
      json = JSON.parse(text) as typeof json;
    } catch {
      // an answer that is not JSON (a proxy's error page): judged by its status below
    }
    if (res.ok && typeof json.id === 'string') return { status: 'accepted', providerMessageId: json.id, cost };
    const e = json.error;
    const detail =
      e !== undefined
        ? `${String(e.code)}${e.param !== undefined ? ` (${String(e.param)})` : ''}: ${String(e.message)}`
        : `HTTP ${res.status}`;
    const invalidNumber = e?.code === 'invalid_param' && e.param === 'to_number';
    return {
      status: 'failed',
      error: `telerivet ${detail}`,
      retryable: res.status === 429 || res.status >= 500,
      ...(invalidNumber ? { outcome: 'unreachable' as const } : {}),
    };
  }

  async stop(): Promise<void> {
    await this.limits.stop();
  }
}
