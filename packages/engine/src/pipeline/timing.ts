import { formatIso } from '../time/iso.js';
import { inWindow, localTime, nextAllowed } from '../time/zoned.js';
import type { Draft } from './draft.js';
import { fired, ruleReason } from './draft.js';

const fmt = (ms: number, zone: string): string => {
  const lt = localTime(ms, zone);
  return `${formatIso(ms)} (${String(lt.hour).padStart(2, '0')}:${String(lt.minute).padStart(2, '0')} ${zone})`;
};

/**
 * Stage 6. When the first step goes: now, after any guard deferral, and never inside quiet hours
 * in the recipient's local time unless a rule bypasses them. Messages deferred out of quiet hours
 * aim for the contact's best hour when their type is configured for it or a `defer until bestHour`
 * rule fired (`defer until windowStart`: the opening instead). Inside allowed hours, a `defer until
 * bestHour` rule waits for the best hour only if it comes before the window closes: a message
 * never waits a day for it.
 */
export function timing(d: Draft): void {
  for (const rule of fired(d, 'timing')) {
    const e = rule.effect;
    if (e.type !== 'defer') continue;
    d.reasons.push(ruleReason(rule));
    if ('minutes' in e.params) d.notBefore = Math.max(d.notBefore, d.now + e.params.minutes * 60_000);
    else d.deferTo = e.params.until;
  }
  const { zone, window } = d.f;
  if (d.f.zoneAssumed) {
    d.reasons.push({ stage: 'timing', code: 'timezone_assumed', message: `contact has no valid time zone; using ${zone}` });
  }
  let at = Math.max(d.now, d.notBefore);
  if (at > d.now) d.reasons.push({ stage: 'timing', code: 'deferred', message: `not before ${fmt(at, zone)}` });

  const best = d.f.bestHour;
  const quiet = !inWindow(localTime(at, zone).minuteOfDay, window);
  if (quiet && d.bypassQuietHours) {
    d.reasons.push({
      stage: 'timing',
      code: 'quiet_hours_bypassed',
      message: `sent inside quiet hours (${fmt(at, zone)}) as a rule allows`,
    });
  } else if (quiet) {
    const useBest =
      best !== null &&
      d.deferTo !== 'windowStart' &&
      (d.deferTo === 'bestHour' || d.rs.source.quietHours.bestHourFor.includes(d.request.type));
    const target = nextAllowed(at, zone, window, useBest ? best * 60 : undefined);
    d.reasons.push({
      stage: 'guards',
      code: 'quiet_hours',
      message: `local time is inside quiet hours; deferred to ${fmt(target, zone)}${useBest ? `, the contact's best hour (${best}:00)` : ''}`,
    });
    at = target;
  } else if (d.deferTo === 'bestHour' && best !== null) {
    const target = nextAllowed(at, zone, window, best * 60);
    d.reasons.push({
      stage: 'timing',
      code: 'best_hour',
      message:
        target === at
          ? `the contact's best hour (${best}:00) has passed for this window; not held for the next day`
          : `deferred to the contact's best hour: ${fmt(target, zone)}`,
    });
    at = target;
  }
  d.sendAt = at;
}
