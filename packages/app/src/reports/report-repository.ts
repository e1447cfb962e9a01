import type { Conn } from '../db/connection.js';

export interface InventoryRow {
  channel: string | null;
  team: string | null;
  journey: string | null;
  type: string;
  status: string;
  messages: number;
  cost: number;
}

const round6 = (x: number) => Math.round(x * 1e6) / 1e6;

/** The reads behind the operations lead's reports. */
export class ReportRepository {
  constructor(private readonly c: Conn) {}

  /** Messages and their cost in [from, to), by channel, team, journey, message type and status. */
  async inventory(from: number, to: number): Promise<InventoryRow[]> {
    const rows = await this.c.db
      .selectFrom('messages')
      .select((eb) => [
        'channel',
        'team',
        'journey_id',
        'type',
        'status',
        eb.fn.countAll<number>().as('n'),
        eb.fn.sum<number>('cost').as('cost'),
      ])
      .where('created_at', '>=', from)
      .where('created_at', '<', to)
      .groupBy(['channel', 'team', 'journey_id', 'type', 'status'])
      .orderBy('channel')
      .orderBy('team')
      .orderBy('journey_id')
      .orderBy('type')
      .orderBy('status')
      .execute();
    return rows.map((r) => ({
      channel: r.channel,
      team: r.team,
      journey: r.journey_id,
      type: r.type,
      status: r.status,
      messages: Number(r.n),
      cost: round6(Number(r.cost ?? 0)),
    }));
  }
}

/** A message as the operations reports read it (the contact's market from its record). */
export interface ReportMessage {
  id: string;
  channel: string | null;
  team: string | null;
  journeyId: string | null;
  journeyInstanceId: string | null;
  type: string;
  status: string;
  cost: number;
  market: string | null;
  /** Reason codes of the decision and of every later decision (the send gate's). */
  reasonCodes: string[];
  outcomes: string[];
}

export interface ReportAttempt {
  messageId: string;
  step: number;
  channel: string;
  status: string;
  cost: number;
  /** The contact's market. */
  market: string | null;
}

export interface ReportJourney {
  id: string;
  journeyId: string;
  status: string;
  outcome: string | null;
  goalReached: boolean;
  events: string[];
}

const MARKET = /"market":"([A-Z]{2})"/;

/** The rows behind the operations reports for a time window (aggregated in the report itself). */
export class OperationsReads {
  constructor(private readonly c: Conn) {}

  /** Messages created in [from, to) with their contact's market and every decision's reason codes. */
  async messages(from: number, to: number): Promise<ReportMessage[]> {
    const rows = await this.c.db
      .selectFrom('messages as m')
      .leftJoin('contacts as c', 'c.id', 'm.contact_id')
      .select([
        'm.id',
        'm.channel',
        'm.team',
        'm.journey_id',
        'm.journey_instance_id',
        'm.type',
        'm.status',
        'm.cost',
        'm.decision',
        'c.data',
      ])
      .where('m.created_at', '>=', from)
      .where('m.created_at', '<', to)
      .execute();
    const later = await this.c.db
      .selectFrom('message_decisions as d')
      .innerJoin('messages as m', 'm.id', 'd.message_id')
      .select(['d.message_id', 'd.decision'])
      .where('m.created_at', '>=', from)
      .where('m.created_at', '<', to)
      .execute();
    const laterBy = new Map<string, Array<{ outcome: string; reasons: Array<{ code: string }> }>>();
    for (const l of later) laterBy.set(l.message_id, [...(laterBy.get(l.message_id) ?? []), JSON.parse(l.decision)]);
    return rows.map((r) => {
      const d = JSON.parse(r.decision) as { outcome: string; reasons: Array<{ code: string }> };
      const all = [d, ...(laterBy.get(r.id) ?? [])];
      return {
        id: r.id,
        channel: r.channel,
        team: r.team,
        journeyId: r.journey_id,
        journeyInstanceId: r.journey_instance_id,
        type: r.type,
        status: r.status,
        cost: Number(r.cost),
        market: MARKET.exec(r.data ?? '')?.[1] ?? null,
        reasonCodes: all.flatMap((x) => x.reasons.map((y) => y.code)),
        outcomes: all.map((x) => x.outcome),
      };
    });
  }

  /** Attempts of the messages created in [from, to). */
  async attempts(from: number, to: number): Promise<ReportAttempt[]> {
    const rows = await this.c.db
      .selectFrom('attempts as a')
      .innerJoin('messages as m', 'm.id', 'a.message_id')
      .leftJoin('contacts as c', 'c.id', 'm.contact_id')
      .select(['a.message_id', 'a.step', 'a.channel', 'a.status', 'a.cost', 'c.data'])
      .where('m.created_at', '>=', from)
      .where('m.created_at', '<', to)
      .execute();
    return rows.map((r) => ({
      messageId: r.message_id,
      step: Number(r.step),
      channel: r.channel,
      status: r.status,
      cost: Number(r.cost),
      market: MARKET.exec(r.data ?? '')?.[1] ?? null,
    }));
  }

  /** Journey instances started in [from, to). */
  async journeys(from: number, to: number): Promise<ReportJourney[]> {
    const rows = await this.c.db
      .selectFrom('journey_instances')
      .select(['id', 'journey_id', 'status', 'state'])
      .where('created_at', '>=', from)
      .where('created_at', '<', to)
      .execute();
    return rows.map((r) => {
      const s = JSON.parse(r.state) as {
        outcome: string | null;
        goal: { reachedAt: string | null } | null;
        events: Record<string, unknown>;
      };
      return {
        id: r.id,
        journeyId: r.journey_id,
        status: r.status,
        outcome: s.outcome,
        goalReached: s.goal?.reachedAt != null,
        events: Object.keys(s.events ?? {}),
      };
    });
  }
}
