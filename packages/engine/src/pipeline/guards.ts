import { formatIso } from '../time/iso.js';
import type { CapDef, Draft } from './draft.js';
import { fired, ruleReason } from './draft.js';

const WINDOW_MS = { day: 86_400_000, week: 7 * 86_400_000 } as const;
const RANK = { low: 0, normal: 1, high: 2 } as const;

/**
 * Stage 1. Hard guards: suppression and review rules, caps bypasses and extra caps, then the
 * contact-pressure budget shared by every team. Consent and quiet hours are guards too; they are
 * applied per channel (capability) and at timing, where the channel and the send time are known.
 */
export function guards(d: Draft): void {
  for (const rule of fired(d, 'guards')) {
    d.reasons.push(ruleReason(rule));
    const e = rule.effect;
    switch (e.type) {
      case 'suppress':
        d.verdict = 'suppress';
        d.reasons.push({ stage: 'guards', code: 'suppressed', rule: rule.name, message: e.params.reason });
        break;
      case 'review':
        if (d.verdict === null) d.verdict = 'review';
        d.reasons.push({ stage: 'guards', code: 'review', rule: rule.name, message: e.params.reason });
        break;
      case 'bypass':
        if (e.params.guard === 'caps') d.bypassCaps = true;
        else d.bypassQuietHours = true;
        break;
      case 'cap':
        d.extraCaps.push(e.params);
        break;
      case 'defer':
        if ('minutes' in e.params) d.notBefore = Math.max(d.notBefore, d.now + e.params.minutes * 60_000);
        else d.deferTo = e.params.until;
        break;
      default:
        break;
    }
  }
  if (d.verdict === 'suppress') return;
  if (d.bypassCaps) {
    d.reasons.push({ stage: 'guards', code: 'cap', message: 'contact-pressure caps bypassed by rule' });
    return;
  }
  for (const cap of d.rs.source.caps) applyCap(d, cap);
  for (const cap of d.extraCaps) applyCap(d, cap);
}

function applyCap(d: Draft, cap: CapDef): void {
  const type = d.request.type;
  if (cap.messageTypes !== undefined && !cap.messageTypes.includes(type)) return;
  const span = WINDOW_MS[cap.per];
  const inWindow: number[] = [];
  const teams = new Set<string>();
  const rank = RANK[d.request.priority ?? 'normal'];
  let gaveWay = 0;
  // counted but decided and not sent yet (a deferred message of another team): said as such
  let waiting = 0;
  for (const record of d.ctx.history) {
    const at = Date.parse(record.at);
    const age = d.now - at;
    if (age < 0 || age >= span) continue;
    if (cap.messageTypes !== undefined && !cap.messageTypes.includes(record.type)) continue;
    if (cap.channels !== undefined && (record.channel === undefined || !cap.channels.includes(record.channel))) continue;
    // not sent yet and less important than this one: it waits, this one goes first (the budget
    // lets the most important through; the other is held back when its own time comes)
    if (record.pending === true && RANK[record.priority ?? 'normal'] < rank) {
      gaveWay++;
      continue;
    }
    inWindow.push(at);
    if (record.pending === true) waiting++;
    if (record.team !== undefined) teams.add(record.team);
  }
  if (gaveWay > 0 && inWindow.length < cap.max)
    d.reasons.push({
      stage: 'guards',
      code: 'cap',
      message: `${cap.id}: ${gaveWay} message(s) of lower priority not sent yet give way to this ${d.request.priority} one`,
    });
  if (inWindow.length < cap.max) return;
  const scope = cap.messageTypes ? cap.messageTypes.join('/') : 'any';
  const by = teams.size > 0 ? ` (${waiting > 0 ? 'sent or waiting to go' : 'sent'} by ${[...teams].sort().join(', ')})` : '';
  const notYet = waiting > 0 ? `, ${waiting} of them not sent yet` : '';
  const detail = `${cap.id}: ${inWindow.length} ${scope} message(s) in the last ${cap.per}${notYet}, limit ${cap.max}${by}${
    d.request.team ? `; held back for team ${d.request.team}` : ''
  }`;
  if (cap.channels !== undefined) {
    d.cappedChannels ??= new Map();
    for (const ch of cap.channels) if (!d.cappedChannels.has(ch)) d.cappedChannels.set(ch, detail);
    return;
  }
  if (cap.onExceed === 'suppress') {
    d.verdict = 'suppress';
    d.reasons.push({ stage: 'guards', code: 'cap_exceeded', message: detail });
    return;
  }
  // defer until enough of the counted messages have aged out of the window
  inWindow.sort((a, b) => a - b);
  const freeAt = (inWindow[inWindow.length - cap.max] as number) + span;
  d.notBefore = Math.max(d.notBefore, freeAt);
  d.reasons.push({ stage: 'guards', code: 'cap_exceeded', message: `${detail}; deferred until ${formatIso(freeAt)}` });
}
