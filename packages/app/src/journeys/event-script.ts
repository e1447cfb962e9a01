import type { Problem } from '@signalbox/engine';
import { InputError } from '../errors.js';
import type { ScriptedEvent } from './simulate.js';

const DAY = 86_400_000;
const LINE = /^([a-z][a-z0-9_]*(?:\.[a-z0-9_]+)+)(?:\s+at\s+day\s+(\d+(?:\.\d+)?))?$/i;

/**
 * A script of events as a person writes it — "invoice.overdue at day 0, invoice.paid at day 4"
 * (commas, semicolons or new lines between events; no day is day 0) — as timed events after
 * `start`. Each event is about the CRM object its name's first part names (`invoice` → an invoice
 * with id `objectId`), as the journeys' triggers match them.
 */
export function parseEventScript(text: string, start: number, objectId = 'sim-1'): ScriptedEvent[] {
  const parts = text
    .split(/[\n,;]+/)
    .map((l) => l.trim())
    .filter(Boolean);
  const problems: Problem[] = [];
  const events: ScriptedEvent[] = [];
  parts.forEach((l, i) => {
    const m = LINE.exec(l);
    if (m === null) {
      problems.push({ path: `/events/${i}`, message: `"${l}": write events like "invoice.paid at day 4"` });
      return;
    }
    const type = (m[1] ?? '').toLowerCase();
    events.push({ type, at: start + Number(m[2] ?? 0) * DAY, data: {}, object: { type: type.split('.')[0] ?? type, id: objectId } });
  });
  if (parts.length === 0) problems.push({ path: '/events', message: 'give at least one event' });
  if (problems.length > 0) throw new InputError('the event script does not read', problems);
  return events;
}
