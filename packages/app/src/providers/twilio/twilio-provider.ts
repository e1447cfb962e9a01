import { createHash } from 'node:crypto';
import type { Limiters } from '@signalbox/connectors';
import type { ChannelProvider, SendResult } from '@signalbox/engine';
import twilio from 'twilio';
import { type DescribeTemplate, type ProviderMessage, segmentsOf, textOf, voiceOf } from '../outbound.js';
import { publicBase } from '../public-url.js';
import { SenderLimits } from '../sender-limits.js';
import { twilioFailure } from './twilio-errors.js';
import { TwilioHttp } from './twilio-http.js';
import { twilioSay } from './twilio-say.js';

export interface TwilioSettings {
  /** The provider's name in routes and on attempts (default `twilio`). */
  name?: string;
  accountSid: string;
  authToken: string;
  /** Twilio's API host replaced by this base (the local fake); default Twilio's own. */
  apiBase?: string | undefined;
  /** Where Twilio posts status callbacks: our public URL. */
  /** Our public base URL (callbacks and links point there); a function where it is known only once listening. */
  publicUrl: string | (() => string);
  /** SMS senders (E.164 or alphanumeric); a recipient always gets the same one. */
  smsFrom: string[];
  whatsappFrom?: string | undefined;
  voiceFrom?: string | undefined;
  /** Sends WhatsApp templates through this Messaging Service (Twilio wants one for Content API templates). */
  messagingServiceSid?: string | undefined;
  /** Approved WhatsApp templates: `name:language` (or `name`) → Content SID (HX…). */
  contentSids: Readonly<Record<string, string>>;
  /** Messages per second per sender, counted in segments (Twilio's MPS: 1 US long code, 10 abroad, 100 short code). */
  mps: number;
  /** Calls per second for the account (Twilio's default: 1; excess calls queue at Twilio). */
  cps?: number;
  /** Answering-machine detection on calls (a machine counts as not reached). */
  machineDetection: boolean;
  /** 429s retried by the client before the send counts as throttled. */
  maxRetries?: number;
  timeoutMs?: number;
}

/**
 * Twilio through its official SDK: SMS and WhatsApp through the Messages API (WhatsApp templates
 * as Content API SIDs with their variables), calls through the Calls API with TwiML `<Say>`.
 * Each sender has its own limiter paced at its MPS in segments; Twilio's error codes become
 * outcomes (unsubscribed, invalid number, template required).
 */
export class TwilioProvider implements ChannelProvider {
  readonly name: string;
  private readonly client: twilio.Twilio;
  private readonly limits: SenderLimits;
  private readonly callLimits: SenderLimits;

  constructor(
    private readonly s: TwilioSettings,
    private readonly describe: DescribeTemplate,
    /** Where the senders' limits live (every instance's, through Redis, in production). */
    limiters?: Limiters,
  ) {
    this.name = s.name ?? 'twilio';
    this.client = twilio(s.accountSid, s.authToken, {
      httpClient: new TwilioHttp(s.apiBase, { maxRetries: s.maxRetries ?? 3, timeoutMs: s.timeoutMs ?? 30_000 }),
    });
    this.limits = new SenderLimits({ perSecond: s.mps, ...(limiters ? { shared: { limiters, id: `provider:${this.name}:sender` } } : {}) });
    this.callLimits = new SenderLimits({
      perSecond: s.cps ?? 1,
      ...(limiters ? { shared: { limiters, id: `provider:${this.name}:calls` } } : {}),
    });
  }

  private hook(path: string): string {
    return `${publicBase(this.s.publicUrl)}/hooks/twilio/${path}`;
  }

  /** The sender a recipient gets: the same one every time (replies and STOP stay on one number). */
  smsSender(to: string): string {
    const list = this.s.smsFrom;
    const i = createHash('sha1').update(to).digest().readUInt32BE(0) % list.length;
    return list[i] as string;
  }

  async send(m: ProviderMessage): Promise<SendResult> {
    switch (m.channel) {
      case 'sms':
        return this.sms(m);
      case 'whatsapp':
        return this.whatsapp(m);
      case 'voice':
        return this.call(m);
      default:
        return { status: 'failed', error: `twilio does not carry ${m.channel}`, retryable: false };
    }
  }

  private async sms(m: ProviderMessage): Promise<SendResult> {
    const from = this.smsSender(m.to);
    return this.limits.schedule(from, segmentsOf(m), () =>
      this.create(m, { to: m.to, from, body: textOf(m, this.describe), statusCallback: this.hook('status') }),
    );
  }

  private async whatsapp(m: ProviderMessage): Promise<SendResult> {
    const from = this.s.whatsappFrom;
    if (from === undefined) return { status: 'failed', error: 'no WhatsApp sender configured for twilio', retryable: false };
    const base = { to: `whatsapp:${m.to}`, statusCallback: this.hook('status') };
    const r = m.rendered;
    const template = r?.kind === 'rich' ? r.whatsappTemplate : undefined;
    if (r?.kind === 'rich' && template !== undefined) {
      const sid = this.s.contentSids[`${template.name}:${template.language}`] ?? this.s.contentSids[template.name];
      // inside the window a message needs no approved template: its body goes as a session message
      if (sid === undefined && m.sessionOpen === true) return this.session(m, from, base, r.body, r.mediaUrl);
      if (sid === undefined)
        return {
          status: 'failed',
          error: `no Content SID for WhatsApp template ${template.name} (${template.language})`,
          retryable: false,
          outcome: 'template-required',
        };
      const variables = Object.fromEntries(template.parameters.map((p, i) => [String(i + 1), p]));
      const sender =
        this.s.messagingServiceSid !== undefined ? { messagingServiceSid: this.s.messagingServiceSid } : { from: `whatsapp:${from}` };
      return this.limits.schedule(from, 1, () =>
        this.create(m, { ...base, ...sender, contentSid: sid, contentVariables: JSON.stringify(variables) }),
      );
    }
    return this.session(m, from, base, r?.kind === 'rich' ? r.body : textOf(m, this.describe), r?.kind === 'rich' ? r.mediaUrl : undefined);
  }

  /** A free-form WhatsApp message (inside the contact's 24 h window). */
  private session(
    m: ProviderMessage,
    from: string,
    base: { to: string; statusCallback: string },
    body: string,
    mediaUrl: string | undefined,
  ): Promise<SendResult> {
    const media = mediaUrl !== undefined ? { mediaUrl: [mediaUrl] } : {};
    return this.limits.schedule(from, 1, () => this.create(m, { ...base, from: `whatsapp:${from}`, body, ...media }));
  }

  private async create(m: ProviderMessage, params: Parameters<twilio.Twilio['messages']['create']>[0]): Promise<SendResult> {
    try {
      const msg = await this.client.messages.create(params);
      return { status: 'accepted', providerMessageId: msg.sid, cost: m.estimatedCost };
    } catch (err) {
      return twilioFailure(err);
    }
  }

  private async call(m: ProviderMessage): Promise<SendResult> {
    const from = this.s.voiceFrom ?? this.s.smsFrom[0];
    if (from === undefined) return { status: 'failed', error: 'no voice caller id configured for twilio', retryable: false };
    const v = voiceOf(m, this.describe);
    const twiml = new twilio.twiml.VoiceResponse();
    const say = twilioSay(v);
    twiml.say({ language: say.language as never, ...(say.voice !== undefined ? { voice: say.voice as never } : {}) }, v.script);
    return this.callLimits.schedule('account', 1, async () => {
      try {
        const call = await this.client.calls.create({
          to: m.to,
          from,
          twiml: twiml.toString(),
          statusCallback: this.hook('calls/status'),
          statusCallbackEvent: ['completed'],
          ...(this.s.machineDetection ? { machineDetection: 'Enable' } : {}),
        });
        return { status: 'accepted', providerMessageId: call.sid, cost: m.estimatedCost };
      } catch (err) {
        return twilioFailure(err);
      }
    });
  }

  async stop(): Promise<void> {
    await Promise.all([this.limits.stop(), this.callLimits.stop()]);
  }
}
