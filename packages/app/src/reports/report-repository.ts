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
