/**
 * Change Data Capture through jsforce's streaming client (faye, CometD long-polling), made durable:
 *
 * - Resume: each channel subscribes from the last replay id *stored* for it (our own faye
 *   extension sets `ext.replay` per subscription: jsforce's Replay extension puts one channel's id
 *   on every subscribe of the client, and remembers what it *saw*, not what we *processed*).
 * - At least once: events are handled one at a time, in order, and a replay id is stored only
 *   after its handler resolved; a replayed event we already processed is skipped.
 * - Retention: a stored id older than the 72-hour retention is refused on subscribe; we report
 *   "full re-sync needed" for that channel and subscribe from -2 (everything retained).
 * - Liveness: a watchdog rebuilds the client when no `/meta/connect` succeeded for `watchdogMs`
 *   (jsforce#1709: after `403::Unknown client` a failed resubscribe stops the stream silently);
 *   auth failures refresh the token; every token refresh rebuilds the client (faye keeps the
 *   token it was created with). Rebuilds back off exponentially.
 * - Echoes: events whose changeOrigin carries our client id are our own writes; they are stored
 *   past, not handled.
 */

import { type CdcMessage, isEcho } from './events.js';
import type { SalesforceGateway } from './gateway.js';

/** Where the last processed replay id of each channel lives; the app implements it on its store. */
export interface ReplayStore {
  get(orgId: string, channel: string): Promise<number | null>;
  save(orgId: string, channel: string, replayId: number): Promise<void>;
}

export interface CdcDelivery {
  orgId: string;
  channel: string;
  replayId: number;
  message: CdcMessage;
}

export interface CdcSubscriberOptions {
  gateway: SalesforceGateway;
  orgId: string;
  /** Contact, Lead, Case, Opportunity, and custom objects such as Invoice__c. */
  entities: readonly string[];
  replayStore: ReplayStore;
  /** Handles one event; its replay id is stored once this resolves (a rejection is retried). */
  onEvent: (d: CdcDelivery) => Promise<void>;
  /** The stored replay id is past retention: re-sync this entity through the REST API. */
  onResyncNeeded?: (r: { orgId: string; channel: string; refusedReplayId: number }) => Promise<void> | void;
  /** Anything that went wrong (logged by the app without payloads). */
  onError?: (e: { orgId: string; reason: string; error?: unknown }) => void;
  /** Where to start a channel with no stored replay id: -1 new events only (default), -2 all retained. */
  initialReplay?: -1 | -2;
  /** No successful /meta/connect for this long → rebuild (Salesforce holds a connect up to 110 s). */
  watchdogMs?: number;
  backoff?: { initialMs?: number; maxMs?: number };
}

/** `/data/ContactChangeEvent`, `/data/Invoice__ChangeEvent` for `Invoice__c`. */
export function changeEventChannel(entity: string): string {
  return `/data/${entity.endsWith('__c') ? entity.slice(0, -1) : entity}ChangeEvent`;
}

interface FayeClient {
  subscribe(channel: string, listener: (data: unknown) => void): PromiseLike<unknown>;
  disconnect(): unknown;
}
type Bayeux = Record<string, unknown> & {
  channel?: string;
  successful?: boolean;
  error?: string;
  subscription?: string;
  advice?: { reconnect?: string };
};
type Callback = (m: Bayeux | null) => void;

const RECENT = 10_000;

export class CdcSubscriber {
  readonly channels: string[];
  readonly stats = { events: 0, echoes: 0, duplicates: 0, rebuilds: 0, handshakes: 0, resyncs: 0 };
  private client: FayeClient | null = null;
  private generation = 0;
  private readonly lastStored = new Map<string, number>();
  private readonly processed = new Map<string, Set<number>>();
  private queue: Promise<void> = Promise.resolve();
  private lastConnectOk = 0;
  private watchdog: NodeJS.Timeout | null = null;
  private backoffMs: number;
  private rebuilding = false;
  private stopped = true;
  private offRefresh: (() => void) | null = null;
  private readonly watchdogMs: number;

  constructor(private readonly o: CdcSubscriberOptions) {
    this.channels = [...new Set(o.entities.map(changeEventChannel))];
    this.watchdogMs = o.watchdogMs ?? 150_000;
    this.backoffMs = o.backoff?.initialMs ?? 1000;
  }

  get connected(): boolean {
    return !this.stopped && this.client !== null && Date.now() - this.lastConnectOk < this.watchdogMs;
  }

  async start(): Promise<void> {
    if (!this.stopped) return;
    this.stopped = false;
    for (const ch of this.channels) {
      const stored = await this.o.replayStore.get(this.o.orgId, ch);
      if (stored !== null) this.lastStored.set(ch, stored);
    }
    this.offRefresh = this.o.gateway.onRefresh(this.o.orgId, () => void this.rebuild('the access token was refreshed', 0));
    const every = Math.max(50, Math.min(5000, Math.floor(this.watchdogMs / 4)));
    this.watchdog = setInterval(() => {
      if (!this.rebuilding && Date.now() - this.lastConnectOk > this.watchdogMs)
        void this.rebuild('no successful /meta/connect within the watchdog window');
    }, every);
    this.watchdog.unref();
    try {
      await this.build();
    } catch (e) {
      await this.stop();
      throw e;
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.watchdog) clearInterval(this.watchdog);
    this.offRefresh?.();
    this.teardown();
    await this.queue;
  }

  private replayFor(channel: string): number {
    return this.lastStored.get(channel) ?? this.o.initialReplay ?? -1;
  }

  private teardown(): void {
    const old = this.client;
    this.client = null;
    // disconnect while the old generation's messages still pass our extension, then silence it
    try {
      old?.disconnect();
    } catch {
      // an old client that never connected has nothing to disconnect
    }
    this.generation++;
  }

  private async build(): Promise<void> {
    const gen = ++this.generation;
    const conn = await this.o.gateway.connection(this.o.orgId);
    if (gen !== this.generation || this.stopped) return;
    const ext = {
      outgoing: (m: Bayeux, cb: Callback) => {
        if (gen !== this.generation && m.channel !== '/meta/disconnect') return cb(null);
        if (m.channel === '/meta/subscribe' && typeof m.subscription === 'string') {
          m.ext = {
            ...((m.ext as Record<string, unknown> | undefined) ?? {}),
            replay: { [m.subscription]: this.replayFor(m.subscription) },
          };
        }
        cb(m);
      },
      incoming: (m: Bayeux, cb: Callback) => {
        if (gen !== this.generation) return;
        this.observe(m);
        cb(m);
      },
    };
    const client = conn.streaming.createClient([ext]) as unknown as FayeClient;
    this.client = client;
    this.lastConnectOk = Date.now();
    for (const ch of this.channels) {
      client.subscribe(ch, (data: unknown) => this.deliver(gen, ch, data as CdcMessage));
    }
  }

  /** Watches the meta channels: connect liveness, refused replay ids, auth failures. */
  private observe(m: Bayeux): void {
    if (m.channel === '/meta/handshake' && m.successful) this.stats.handshakes++;
    if (m.channel === '/meta/connect' && m.successful) {
      this.lastConnectOk = Date.now();
      this.backoffMs = this.o.backoff?.initialMs ?? 1000;
    }
    if (m.channel === '/meta/subscribe' && m.successful === false && typeof m.subscription === 'string') {
      const channel = m.subscription;
      if (/replayid/i.test(m.error ?? '')) {
        const refused = this.replayFor(channel);
        this.stats.resyncs++;
        this.lastStored.set(channel, -2);
        this.queue = this.queue.then(async () => {
          try {
            await this.o.onResyncNeeded?.({ orgId: this.o.orgId, channel, refusedReplayId: refused });
          } catch (error) {
            this.o.onError?.({ orgId: this.o.orgId, reason: `the re-sync signal for ${channel} failed`, error });
          }
        });
        void this.rebuild(`replay id ${refused} of ${channel} is past retention`, 0);
      } else this.o.onError?.({ orgId: this.o.orgId, reason: `subscribe to ${channel} refused: ${m.error ?? 'no reason'}` });
    }
    if ((m.channel === '/meta/handshake' || m.channel === '/meta/connect') && m.successful === false && m.advice?.reconnect === 'none') {
      // the token is no longer valid: refresh it (the refresh listener rebuilds the client)
      this.o.gateway.refresh(this.o.orgId).catch((error: unknown) => {
        this.o.onError?.({ orgId: this.o.orgId, reason: 'streaming authentication failed and the token could not be refreshed', error });
        void this.rebuild('authentication failed');
      });
    }
  }

  private deliver(gen: number, channel: string, message: CdcMessage): void {
    this.queue = this.queue.then(() => this.process(gen, channel, message));
  }

  private async process(gen: number, channel: string, message: CdcMessage): Promise<void> {
    // events of a client we gave up on come again from the stored replay id on the new one
    if (gen !== this.generation || this.stopped) return;
    const replayId = message?.event?.replayId;
    if (typeof replayId !== 'number') return;
    const seen = this.processed.get(channel) ?? new Set<number>();
    this.processed.set(channel, seen);
    if (seen.has(replayId)) {
      this.stats.duplicates++;
      return;
    }
    try {
      if (isEcho(message.payload?.ChangeEventHeader ?? {}, this.o.gateway.client)) this.stats.echoes++;
      else {
        await this.o.onEvent({ orgId: this.o.orgId, channel, replayId, message });
        this.stats.events++;
      }
      await this.o.replayStore.save(this.o.orgId, channel, replayId);
    } catch (error) {
      // not stored: the event comes again from the last stored replay id
      this.o.onError?.({ orgId: this.o.orgId, reason: `handling a ${channel} event failed`, error });
      void this.rebuild('an event handler failed');
      return;
    }
    this.lastStored.set(channel, replayId);
    seen.add(replayId);
    if (seen.size > RECENT) seen.delete(seen.values().next().value as number);
  }

  /** Tears the client down and builds a new one from the stored replay ids, after a back-off. */
  private async rebuild(reason: string, delayMs = this.backoffMs): Promise<void> {
    if (this.stopped || this.rebuilding) return;
    this.rebuilding = true;
    this.stats.rebuilds++;
    this.teardown();
    if (delayMs > 0) this.backoffMs = Math.min(this.backoffMs * 2, this.o.backoff?.maxMs ?? 60_000);
    try {
      await new Promise((r) => setTimeout(r, delayMs));
      await this.queue;
      if (!this.stopped) await this.build();
    } catch (error) {
      this.o.onError?.({ orgId: this.o.orgId, reason: `rebuilding the streaming client failed (${reason})`, error });
      this.lastConnectOk = 0;
    } finally {
      this.rebuilding = false;
    }
  }
}
