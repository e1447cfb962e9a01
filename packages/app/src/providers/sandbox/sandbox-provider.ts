import type { ChannelProvider, OutboundMessage, ReceiptStatus, SendResult } from '@signalbox/engine';
import { Coalescer } from '../../db/coalescer.js';
import type { Logger } from '../../logger.js';
import { sign } from '../../security/signature.js';
import type { SandboxLog, SandboxRecorded, SandboxSend } from './sandbox-log.js';

/**
 * What the sandbox does per channel and address: rules are tried in order, the first whose
 * pattern matches the address decides. Default: delivered, then read.
 */
export interface SandboxRule {
  channel: string | '*';
  /** Regular expression on the address. */
  pattern: string;
  /** The receipts it posts back, in order; [] = silence (no receipt ever: the fallback timeout fires). */
  receipts: ReceiptStatus[];
  /** Refuse at send time instead of accepting. */
  reject?: boolean;
}

export const DEFAULT_SANDBOX_RULES: SandboxRule[] = [
  // numbers ending in 0 are undeliverable on WhatsApp; ending in 9, WhatsApp never answers
  { channel: 'whatsapp', pattern: '0$', receipts: ['undelivered'] },
  { channel: 'whatsapp', pattern: '9$', receipts: [] },
  { channel: 'rcs', pattern: '0$', receipts: ['undelivered'] },
  { channel: 'sms', pattern: '^\\+1555000', receipts: ['failed'] },
  { channel: '*', pattern: '', receipts: ['delivered', 'read'] },
];

export interface SandboxOptions {
  /** Its own send log. */
  sends: SandboxLog;
  log: Logger;
  secret: string;
  /** Where our receipt endpoint listens; receipts go over real HTTP. Null: collect them for `drain()`. */
  receiptUrl: () => string | null;
  rules?: SandboxRule[];
  now: () => number;
  /** How long receipts gather before one batch is posted (ms). */
  batchMs?: number;
}

/** Most a batch carries; the receipt endpoint takes up to RECEIPT_BATCH_MAX. */
const BATCH = 200;
/** Tries per batch (a network error or a 5xx), 50 ms then 200 ms apart. */
const POST_TRIES = 3;

/**
 * The default provider: every channel, deterministic outcomes, its own durable send log (one row
 * per idempotency claim, so a retried send is not a second message), and receipts posted back
 * through our real, signed receipt endpoint.
 */
export class SandboxProvider implements ChannelProvider {
  readonly name = 'sandbox';
  private readonly rules: Array<SandboxRule & { re: RegExp }>;
  private queue: Array<{ providerMessageId: string; status: ReceiptStatus; at: string }> = [];
  private timer: NodeJS.Timeout | null = null;
  private chain: Promise<void> = Promise.resolve();

  /** The durable send log; sends that come together are written together. */
  private readonly log: Coalescer<SandboxSend, SandboxRecorded>;

  constructor(private readonly o: SandboxOptions) {
    this.log = new Coalescer((list) => o.sends.record(list), 200);
    this.rules = (o.rules ?? DEFAULT_SANDBOX_RULES).map((r) => ({ ...r, re: new RegExp(r.pattern) }));
  }

  private ruleFor(channel: string, to: string) {
    return this.rules.find((r) => (r.channel === '*' || r.channel === channel) && r.re.test(to));
  }

  async send(m: OutboundMessage): Promise<SendResult> {
    const rule = this.ruleFor(m.channel, m.to);
    if (rule?.reject) return { status: 'failed', error: `sandbox rejects ${m.channel} to this address`, retryable: false };
    const { providerMessageId, at } = await this.log.submit({
      claim: m.claim,
      providerMessageId: `sbx-${m.claim}`,
      channel: m.channel,
      address: m.to,
      content: m.content,
      rendered: m.rendered,
      // the moment of the call, not of the log's write (which may wait for the database)
      at: this.o.now(),
    });
    // a retried claim (its sender crashed or lost the answer) is the same message: its receipts are
    // posted again, timed as the first call's, so those already applied are known and change nothing,
    // and those lost with a crashed instance (posted from its process) still arrive
    if (rule !== undefined && rule.receipts.length > 0) this.postReceipts(providerMessageId, rule.receipts, at);
    // the sandbox charges what the price table says for the contact's market
    return { status: 'accepted', providerMessageId, cost: m.estimatedCost };
  }

  /**
   * Queues a message's receipts. Like bulk SMS gateways' delivery reports, they are posted in
   * batches (every `batchMs`, at most BATCH per request), in the order they were produced, so a
   * message's `delivered` always arrives before its `read`.
   */
  private postReceipts(providerMessageId: string, statuses: readonly ReceiptStatus[], sentAt: number): void {
    if (this.o.receiptUrl() === null) return;
    const at = new Date(sentAt).toISOString();
    for (const status of statuses) this.queue.push({ providerMessageId, status, at });
    this.timer ??= setTimeout(() => {
      this.timer = null;
      this.flush();
    }, this.o.batchMs ?? 20);
  }

  /** Posts everything queued, one batch after the other (each waits for the previous answer). */
  private flush(): Promise<void> {
    const url = this.o.receiptUrl();
    const batches: Array<typeof this.queue> = [];
    while (this.queue.length > 0) batches.push(this.queue.splice(0, BATCH));
    if (url === null || batches.length === 0) return this.chain;
    // like a provider's webhook, a batch that did not get through (a connection closed under it, an
    // instance briefly not answering) is tried again, a few times, then given up and logged
    const post = async (receipts: typeof this.queue) => {
      const body = JSON.stringify({ receipts });
      for (let attempt = 1; ; attempt++) {
        try {
          const res = await fetch(url, {
            method: 'POST',
            headers: { 'content-type': 'application/json', 'signalbox-signature': sign(this.o.secret, body, Date.now()) },
            body,
          });
          await res.arrayBuffer();
          if (res.ok) return;
          if (res.status < 500 || attempt >= POST_TRIES) {
            this.o.log.warn({ status: res.status, receipts: receipts.length }, 'sandbox receipts refused');
            return;
          }
        } catch (err) {
          if (attempt >= POST_TRIES) {
            this.o.log.warn({ err: (err as Error).message, receipts: receipts.length }, 'sandbox receipts not delivered');
            return;
          }
        }
        await new Promise((r) => setTimeout(r, 50 * 4 ** (attempt - 1)));
      }
    };
    for (const b of batches) this.chain = this.chain.then(() => post(b));
    return this.chain;
  }

  /** Posts what is queued now and waits until every receipt so far has been answered (tests drive time this way). */
  async drain(): Promise<void> {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    await this.flush();
  }
}
