import type { PastEvent } from '@signalbox/engine';
import { plainText } from '../content/plain-text.js';
import type { AttemptRow } from '../delivery/attempt-repository.js';
import { ATTEMPT_FAILED, ATTEMPT_WENT } from '../delivery/attempt-status.js';
import type { MessageRow } from '../messages/message-record.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;

/** How long ago, as a person says it ("just now", "25 min ago", "2 h ago", "3 days ago"); "in 2 h" ahead. */
export function relative(ms: number): string {
  const ahead = ms < 0;
  const a = Math.abs(ms);
  const words =
    a < 90_000
      ? null
      : a < 90 * MIN
        ? `${Math.round(a / MIN)} min`
        : a < 36 * HOUR
          ? `${Math.round(a / HOUR)} h`
          : `${Math.round(a / DAY)} days`;
  if (words === null) return ahead ? 'in a moment' : 'just now';
  return ahead ? `in ${words}` : `${words} ago`;
}

/** An instant as the contact lives it: "Thu 26 Nov, 10:00 Africa/Nairobi". */
export function localTime(at: number, zone: string): string {
  const f = new Intl.DateTimeFormat('en-GB', {
    timeZone: zone,
    weekday: 'short',
    day: 'numeric',
    month: 'short',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  });
  return `${f.format(at)} ${zone}`;
}

/** "2 h ago (Mon 23 Nov, 10:00 Africa/Nairobi)". */
export function when(at: number, now: number, zone: string): string {
  return `${relative(now - at)} (${localTime(at, zone)})`;
}

/** Data fields never shown: they identify the person, are secrets, or are plumbing (record ids, change metadata). */
const HIDDEN =
  /phone|email|address|token|secret|password|iban|card|ssn|dob|birth|^entityName$|^changeType$|^replayId$|(^|[a-z])(id|Id|ID|ids|Ids)$/;

/** An event's data as a short phrase: scalar fields only, at most four, nothing that identifies the person. */
export function dataPhrase(data: Record<string, unknown>, skip: readonly string[] = []): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(data)) {
    if (parts.length === 4) break;
    if (skip.includes(k) || HIDDEN.test(k) || v === null || v === undefined || v === '') continue;
    if (typeof v === 'string') parts.push(`${k} ${v.length > 40 ? `${v.slice(0, 40)}…` : v}`);
    else if (typeof v === 'number' || typeof v === 'boolean') parts.push(`${k} ${v}`);
  }
  return parts.join(', ');
}

/** What the contact said or pressed, when the event is an inbound message. */
function inboundPhrase(e: PastEvent): string | null {
  const d = e.data as { channel?: unknown; text?: unknown; payload?: unknown };
  if (typeof d.channel !== 'string' || (typeof d.text !== 'string' && typeof d.payload !== 'string')) return null;
  if (typeof d.payload === 'string' && d.payload !== '') return `pressed ${d.payload} on ${d.channel}`;
  const text = String(d.text);
  return `wrote on ${d.channel} "${text.length > 80 ? `${text.slice(0, 80)}…` : text}"`;
}

const isBreak = (e: PastEvent) => /\.(failed|cancelled)$|^complaint\./.test(e.type) && !e.type.startsWith('message.');

/** What happened on the contact's side: an inbound message's words, or an event with its data. */
export function eventLine(e: PastEvent): string {
  const inbound = inboundPhrase(e);
  if (inbound !== null) return inbound;
  const data = dataPhrase(e.data, ['channel']);
  return data === '' ? e.type : `${e.type} (${data})`;
}

/**
 * The five-second story of a contact, as an agent needs it before saying hello: what they did
 * and asked (events with their data, their last messages to us), where a process broke, what
 * Signalbox sent since, and what comes next. Every time in the contact's zone and relative.
 */
export function story(o: {
  now: number;
  zone: string;
  events: readonly PastEvent[];
  messages: readonly MessageRow[];
  attempts: readonly AttemptRow[];
  next: { at: number; label: string | null } | null;
}): string[] {
  const { now, zone } = o;
  const contactSide = o.events.filter((e) => !e.type.startsWith('message.')).sort((a, b) => (a.at < b.at ? 1 : -1));
  const lines: string[] = [];
  const did = contactSide.slice(0, 3).map((e) => `${eventLine(e)} ${when(Date.parse(e.at), now, zone)}`);
  lines.push(did.length > 0 ? `Did: ${did.join('; ')}.` : 'Did nothing we know of in the last 90 days.');
  const broke = contactSide.find(isBreak);
  if (broke !== undefined) lines.push(`Broke: ${eventLine(broke)} ${when(Date.parse(broke.at), now, zone)}.`);
  const since = broke === undefined ? now - 7 * DAY : Date.parse(broke.at);
  const sent = o.attempts.filter((a) => a.updatedAt >= since && ATTEMPT_WENT.includes(a.status));
  const failed = o.attempts.filter((a) => a.updatedAt >= since && ATTEMPT_FAILED.includes(a.status));
  const template = (a: AttemptRow) => o.messages.find((m) => m.id === a.messageId)?.template ?? 'a message';
  if (sent.length === 0) lines.push(broke === undefined ? 'Sent nothing in the last 7 days.' : 'Sent nothing since.');
  else {
    const last = sent[0] as AttemptRow;
    const words = last.content === null ? '' : ` "${clip(plainText(last.content), 60)}"`;
    lines.push(
      `Sent ${sent.length} message${sent.length === 1 ? '' : 's'} ${broke === undefined ? 'in the last 7 days' : 'since'}; last ${template(last)} by ${last.channel} (${last.status})${words} ${when(last.updatedAt, now, zone)}.`,
    );
  }
  if (failed.length > 0) {
    const f = failed[0] as AttemptRow;
    lines.push(`Not delivered: ${template(f)} by ${f.channel}${f.error ? ` (${clip(f.error, 60)})` : ''} ${when(f.updatedAt, now, zone)}.`);
  }
  lines.push(o.next === null ? 'Nothing scheduled.' : `Next: ${o.next.label ?? 'a send'} ${when(o.next.at, now, zone)}.`);
  return lines;
}

function clip(s: string, n: number): string {
  const one = s.replace(/\s+/g, ' ').trim();
  return one.length > n ? `${one.slice(0, n)}…` : one;
}
