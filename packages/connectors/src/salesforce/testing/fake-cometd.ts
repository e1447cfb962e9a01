/**
 * The fake's CometD server (`POST /cometd/<version>`, long-polling only, Bayeux as faye speaks it)
 * delivering Change Data Capture events with replay ids: handshake, connect (held open until an
 * event or `advice.timeout`), subscribe with `ext.replay`, unsubscribe, disconnect. Events are
 * kept 72 hours; a replay id older than that is refused as Salesforce refuses it. Tests can drop
 * every client (`403::Unknown client`, jsforce#1709) or stall them (connects never answered).
 */
import { randomUUID } from 'node:crypto';
import { changeEventChannel } from '../cdc-subscriber.js';
import type { RecordChange, Row } from './fake-org.js';

export const RETENTION_MS = 72 * 3600_000;

interface StoredEvent {
  replayId: number;
  channels: string[];
  at: number;
  data: { schema: string; payload: Record<string, unknown>; event: { replayId: number } };
}

interface Client {
  id: string;
  orgId: string;
  subs: Set<string>;
  queue: Array<{ channel: string; data: StoredEvent['data'] }>;
  wake: (() => void) | null;
  stalled: boolean;
}

type Message = Record<string, unknown> & { channel?: string | undefined; id?: string | undefined; clientId?: string | undefined };

export { changeEventChannel };

export class FakeCometd {
  private readonly events = new Map<string, StoredEvent[]>();
  private readonly lastReplay = new Map<string, number>();
  /** Every replay id issued, in order (kept after the events expire, to judge a replay id). */
  private readonly issued = new Map<string, number[]>();
  private readonly clients = new Map<string, Client>();
  /** How long a connect is held open (Salesforce: 110 s). */
  timeoutMs = 110_000;
  /** Handshakes and connects answered, for tests. */
  readonly stats = { handshakes: 0, connects: 0, subscribes: [] as Array<{ channel: string; replay: unknown; ok: boolean }> };

  constructor(
    private readonly now: () => number,
    private readonly cdcChannels: (orgId: string) => Set<string>,
  ) {}

  /** Records a change as an event on its entity's channel and on /data/ChangeEvents. */
  publish(orgId: string, c: RecordChange, version: string): number {
    const replayId = (this.lastReplay.get(orgId) ?? 0) + 1 + Math.floor(Math.random() * 3); // opaque, not contiguous
    this.lastReplay.set(orgId, replayId);
    const ids = this.issued.get(orgId) ?? [];
    ids.push(replayId);
    this.issued.set(orgId, ids);
    const origin =
      c.origin.api === 'ui' ? '' : `com/salesforce/api/${c.origin.api}/${version}${c.origin.client ? `;client=${c.origin.client}` : ''}`;
    const payload: Record<string, unknown> = {
      ChangeEventHeader: {
        entityName: c.entity,
        recordIds: [c.recordId],
        changeType: c.changeType,
        changedFields: c.changedFields,
        changeOrigin: origin,
        transactionKey: c.transactionKey,
        sequenceNumber: c.sequenceNumber,
        commitTimestamp: c.commitTimestamp,
        commitNumber: 10_000_000 + replayId,
        commitUser: '005000000000001AAA',
        nulledFields: c.nulledFields,
        diffFields: [],
      },
      ...(c.fields as Row),
    };
    const channels = [changeEventChannel(c.entity), '/data/ChangeEvents'];
    const ev: StoredEvent = {
      replayId,
      channels,
      at: this.now(),
      data: { schema: `fake-${c.entity}-schema`, payload, event: { replayId } },
    };
    const list = this.events.get(orgId) ?? [];
    list.push(ev);
    this.events.set(orgId, list);
    for (const client of this.clients.values()) {
      if (client.orgId !== orgId) continue;
      for (const ch of channels) if (client.subs.has(ch)) client.queue.push({ channel: ch, data: ev.data });
      if (client.queue.length > 0 && !client.stalled) client.wake?.();
    }
    return replayId;
  }

  private retained(orgId: string): StoredEvent[] {
    const list = (this.events.get(orgId) ?? []).filter((e) => e.at >= this.now() - RETENTION_MS);
    this.events.set(orgId, list);
    return list;
  }

  /** The replay id of the newest event of the org (0 before any). */
  latestReplayId(orgId: string): number {
    return this.lastReplay.get(orgId) ?? 0;
  }

  /** Salesforce expires CometD clients; their next connect is told `403::Unknown client`. */
  dropClients(): void {
    for (const c of this.clients.values()) c.wake?.();
    this.clients.clear();
  }

  /** Existing clients' connects are held and never answered (a silent stall); new clients work. */
  stallClients(): void {
    for (const c of this.clients.values()) c.stalled = true;
  }

  get clientCount(): number {
    return this.clients.size;
  }

  close(): void {
    for (const c of this.clients.values()) {
      c.stalled = false;
      c.wake?.();
    }
    this.clients.clear();
  }

  /** One POST: a JSON array of Bayeux messages in, a JSON array out. */
  async handle(grant: { orgId: string } | null, messages: Message[]): Promise<Message[]> {
    const out: Message[] = [];
    let connect: Message | null = null;
    for (const m of messages) {
      const base = { channel: m.channel, id: m.id };
      if (grant === null) {
        out.push(
          m.channel === '/meta/handshake'
            ? {
                ...base,
                successful: false,
                error: '403::Handshake denied',
                ext: { sfdc: { failureReason: '401::Authentication invalid' }, replay: true },
                advice: { reconnect: 'none' },
              }
            : { ...base, successful: false, error: '401::Authentication invalid', advice: { reconnect: 'none' } },
        );
        continue;
      }
      if (m.channel === '/meta/handshake') {
        this.stats.handshakes++;
        const id = randomUUID().replace(/-/g, '').slice(0, 26);
        this.clients.set(id, { id, orgId: grant.orgId, subs: new Set(), queue: [], wake: null, stalled: false });
        out.push({
          ...base,
          successful: true,
          version: '1.0',
          clientId: id,
          supportedConnectionTypes: ['long-polling'],
          advice: { reconnect: 'retry', interval: 0, timeout: this.timeoutMs },
          ext: { replay: true, 'payload.format': true },
        });
        continue;
      }
      const client = typeof m.clientId === 'string' ? this.clients.get(m.clientId) : undefined;
      if (client === undefined || client.orgId !== grant.orgId) {
        out.push({
          ...base,
          clientId: m.clientId,
          successful: false,
          error: '403::Unknown client',
          advice: { reconnect: 'handshake', interval: 0 },
        });
        continue;
      }
      if (m.channel === '/meta/connect') connect = m;
      else if (m.channel === '/meta/subscribe') out.push(this.subscribe(client, m));
      else if (m.channel === '/meta/unsubscribe') {
        client.subs.delete(String(m.subscription));
        out.push({ ...base, clientId: client.id, subscription: m.subscription, successful: true });
      } else if (m.channel === '/meta/disconnect') {
        this.clients.delete(client.id);
        client.wake?.();
        out.push({ ...base, clientId: client.id, successful: true });
      } else out.push({ ...base, successful: false, error: `403::Publishing to ${m.channel} is not allowed` });
    }
    if (connect !== null) out.push(...(await this.connect(connect)));
    return out;
  }

  private subscribe(client: Client, m: Message): Message {
    const channel = String(m.subscription);
    const base = { channel: '/meta/subscribe', id: m.id, clientId: client.id, subscription: channel };
    if (!this.cdcChannels(client.orgId).has(channel)) {
      this.stats.subscribes.push({ channel, replay: null, ok: false });
      return { ...base, successful: false, error: `403::Unknown channel ${channel}` };
    }
    const ext = (m.ext as { replay?: Record<string, unknown> } | undefined)?.replay;
    const replay = ext?.[channel] ?? -1;
    const list = this.retained(client.orgId).filter((e) => e.channels.includes(channel));
    const last = this.latestReplay(client.orgId);
    const first = this.retained(client.orgId)[0]?.replayId ?? Number.POSITIVE_INFINITY;
    // a replay id is usable while nothing after it has expired: it was issued, and the event that
    // followed it (if any) is still retained
    const ids = this.issued.get(client.orgId) ?? [];
    const at = typeof replay === 'number' ? ids.indexOf(replay) : -1;
    const valid = replay === -1 || replay === -2 || (at >= 0 && (at === ids.length - 1 || (ids[at + 1] as number) >= first));
    this.stats.subscribes.push({ channel, replay, ok: valid });
    if (!valid)
      return {
        ...base,
        successful: false,
        error: `400::The replayId {${String(replay)}} you provided was invalid.  Please provide a valid ID, -2 to replay all events, or -1 to replay only new events.`,
      };
    client.subs.add(channel);
    const from = replay === -2 ? Number.NEGATIVE_INFINITY : replay === -1 ? last : (replay as number);
    for (const e of list) if (e.replayId > from) client.queue.push({ channel, data: e.data });
    return { ...base, successful: true };
  }

  private latestReplay(orgId: string): number {
    return this.lastReplay.get(orgId) ?? 0;
  }

  private async connect(m: Message): Promise<Message[]> {
    const id = String(m.clientId);
    const client = this.clients.get(id);
    if (client === undefined)
      return [
        {
          channel: '/meta/connect',
          id: m.id,
          clientId: id,
          successful: false,
          error: '403::Unknown client',
          advice: { reconnect: 'handshake', interval: 0 },
        },
      ];
    if (client.queue.length === 0 || client.stalled) {
      client.wake?.();
      await new Promise<void>((resolve) => {
        const timer = client.stalled ? null : setTimeout(resolve, this.timeoutMs);
        client.wake = () => {
          if (timer) clearTimeout(timer);
          client.wake = null;
          resolve();
        };
      });
    }
    // a client stalled while its connect was held never gets an answer (until dropped or closed)
    while (client.stalled && this.clients.get(id) === client) {
      await new Promise<void>((resolve) => {
        client.wake = () => {
          client.wake = null;
          resolve();
        };
      });
    }
    if (!this.clients.has(id) || this.clients.get(id) !== client)
      return [
        {
          channel: '/meta/connect',
          id: m.id,
          clientId: id,
          successful: false,
          error: '403::Unknown client',
          advice: { reconnect: 'handshake', interval: 0 },
        },
      ];
    this.stats.connects++;
    const events = client.queue.splice(0);
    return [
      ...events,
      {
        channel: '/meta/connect',
        id: m.id,
        clientId: id,
        successful: true,
        advice: { reconnect: 'retry', interval: 0, timeout: this.timeoutMs },
      },
    ];
  }
}
