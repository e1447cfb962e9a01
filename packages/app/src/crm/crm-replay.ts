import type { Conn } from '../db/connection.js';

/** The last Change Data Capture replay id processed, per CRM account and channel (a subscriber resumes from it). */
export class CrmReplayIds {
  constructor(private readonly c: Conn) {}

  async get(crm: string, account: string, channel: string): Promise<number | null> {
    const r = await this.c.db
      .selectFrom('crm_replay')
      .select('replay_id')
      .where('crm', '=', crm)
      .where('account', '=', account)
      .where('channel', '=', channel)
      .executeTakeFirst();
    return r === undefined ? null : Number(r.replay_id);
  }

  async save(crm: string, account: string, channel: string, replayId: number, now: number): Promise<void> {
    await this.c.db
      .insertInto('crm_replay')
      .values({ crm, account, channel, replay_id: replayId, updated_at: now })
      .onConflict((oc) => oc.columns(['crm', 'account', 'channel']).doUpdateSet({ replay_id: replayId, updated_at: now }))
      .execute();
  }
}
