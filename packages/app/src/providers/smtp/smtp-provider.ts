import type { Limiters } from '@signalbox/connectors';
import type { ChannelProvider, SendResult } from '@signalbox/engine';
import nodemailer, { type Transporter } from 'nodemailer';
import { type DescribeTemplate, emailOf, type ProviderMessage } from '../outbound.js';
import { publicBase } from '../public-url.js';
import { SenderLimits } from '../sender-limits.js';
import { unsubscribeUrlFor } from './unsubscribe-token.js';

export interface SmtpSettings {
  name?: string;
  /** `smtp://user:pass@host:587` (STARTTLS when offered) or `smtps://…:465`. */
  url: string;
  /** The From address. */
  from: string;
  /** Our public base URL (callbacks and links point there); a function where it is known only once listening. */
  publicUrl: string | (() => string);
  /** Signs the unsubscribe links of marketing mail. */
  unsubscribeSecret: string;
  /** An address that also unsubscribes (`mailto:` in List-Unsubscribe), optional. */
  unsubscribeMailto?: string | undefined;
  /** Messages per second through this relay. */
  perSecond: number;
  /** Local tests only: never upgrade to TLS. */
  ignoreTls?: boolean;
}

/**
 * Email over SMTP with nodemailer. Marketing mail carries `List-Unsubscribe` (our signed one-click
 * URL, and a mailto when configured) and `List-Unsubscribe-Post: List-Unsubscribe=One-Click`
 * (RFC 8058). The Message-ID is built from the claim, so a bounce that quotes it finds the attempt.
 * A relay refusing the recipient permanently (5xx) means the address is unreachable.
 */
export class SmtpProvider implements ChannelProvider {
  readonly name: string;
  private readonly transport: Transporter;
  private readonly limits: SenderLimits;
  private readonly domain: string;

  constructor(
    private readonly s: SmtpSettings,
    private readonly describe: DescribeTemplate,
    /** Where the senders' limits live (every instance's, through Redis, in production). */
    limiters?: Limiters,
  ) {
    this.name = s.name ?? 'smtp';
    const u = new URL(s.url);
    this.transport = nodemailer.createTransport({
      host: u.hostname,
      port: u.port !== '' ? Number(u.port) : u.protocol === 'smtps:' ? 465 : 587,
      secure: u.protocol === 'smtps:',
      ...(u.username !== '' ? { auth: { user: decodeURIComponent(u.username), pass: decodeURIComponent(u.password) } } : {}),
      ...(s.ignoreTls ? { ignoreTLS: true } : {}),
    });
    this.limits = new SenderLimits({
      perSecond: s.perSecond,
      maxConcurrent: 5,
      ...(limiters ? { shared: { limiters, id: `provider:${this.name}` } } : {}),
    });
    this.domain = s.from.split('@')[1]?.replace(/>.*$/, '') ?? 'signalbox.local';
  }

  /** The unsubscribe URL of a message. */
  unsubscribeUrl(messageId: string): string {
    return unsubscribeUrlFor(publicBase(this.s.publicUrl), this.s.unsubscribeSecret, messageId);
  }

  async send(m: ProviderMessage): Promise<SendResult> {
    if (m.channel !== 'email') return { status: 'failed', error: `smtp does not carry ${m.channel}`, retryable: false };
    const mail = emailOf(m, this.describe);
    const messageId = `${m.claim.replace(/[^\w.-]/g, '-')}@${this.domain}`;
    const headers: Record<string, string> = {};
    if (mail.marketing) {
      const targets = [`<${this.unsubscribeUrl(m.messageId)}>`];
      if (this.s.unsubscribeMailto !== undefined) targets.push(`<mailto:${this.s.unsubscribeMailto}?subject=unsubscribe>`);
      headers['List-Unsubscribe'] = targets.join(', ');
      headers['List-Unsubscribe-Post'] = 'List-Unsubscribe=One-Click';
    }
    return this.limits.schedule('relay', 1, async () => {
      try {
        await this.transport.sendMail({
          from: this.s.from,
          to: m.to,
          subject: mail.subject,
          text: mail.text,
          html: mail.html,
          messageId: `<${messageId}>`,
          headers,
        });
        return { status: 'accepted', providerMessageId: messageId, cost: m.estimatedCost };
      } catch (err) {
        const e = err as { responseCode?: unknown; message?: unknown; command?: unknown };
        const code = typeof e.responseCode === 'number' ? e.responseCode : null;
        if (code === null) return { status: 'failed', error: `smtp relay unreachable: ${String(e.message)}`, retryable: true };
        const permanent = code >= 500;
        return {
          status: 'failed',
          error: `smtp ${code} at ${String(e.command ?? 'send')}`,
          retryable: !permanent,
          ...(permanent && e.command === 'RCPT TO' ? { outcome: 'unreachable' as const } : {}),
        };
      }
    });
  }

  async stop(): Promise<void> {
    await this.limits.stop();
    this.transport.close();
  }
}
