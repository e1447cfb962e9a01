import { type CompiledRuleset, type Contact, contactZone, localTime } from '@signalbox/engine';

/**
 * A contact's engagement after delivered and read receipts on a channel: counts per channel, and
 * reads per local hour (their peak is the contact's best hour).
 */
export function withEngagement(
  c: Contact,
  channel: string,
  receipts: ReadonlyArray<{ status: 'delivered' | 'read'; at: number }>,
  rs: CompiledRuleset,
): Contact {
  let out = c;
  for (const { status, at } of receipts) {
    const e = out.engagement?.[channel] ?? { sent: 0, delivered: 0, read: 0, replied: 0 };
    const next = {
      ...e,
      sent: status === 'delivered' ? e.sent + 1 : e.sent,
      delivered: e.delivered + (status === 'delivered' ? 1 : 0),
      read: e.read + (status === 'read' ? 1 : 0),
    };
    out = { ...out, engagement: { ...(out.engagement ?? {}), [channel]: next } };
    if (status === 'read') {
      const { zone } = contactZone(out, rs);
      const hours = [...(out.readHours ?? new Array<number>(24).fill(0))];
      const h = localTime(at, zone).hour;
      hours[h] = (hours[h] ?? 0) + 1;
      out = { ...out, readHours: hours };
    }
  }
  return out;
}
