import { civilFromDays } from './civil.js';

/**
 * Recipient local time through the platform's IANA database (Intl). Offsets are cached per zone
 * in 15-minute buckets of UTC: every real-world transition falls on a quarter hour, so the cache
 * is exact, and a decision needs no Intl call once its bucket is warm.
 */
const MINUTE = 60_000;
const BUCKET = 15 * MINUTE;

const formatters = new Map<string, Intl.DateTimeFormat>();
const offsetCache = new Map<string, Map<number, number>>();
const zoneValidity = new Map<string, boolean>();

let lastValidZone = '';

export function isValidTimeZone(zone: string): boolean {
  if (zone === lastValidZone) return true;
  let ok = zoneValidity.get(zone);
  if (ok === undefined) {
    try {
      new Intl.DateTimeFormat('en-US', { timeZone: zone });
      ok = true;
    } catch {
      ok = false;
    }
    if (zoneValidity.size > 10_000) zoneValidity.clear();
    zoneValidity.set(zone, ok);
  }
  if (ok) lastValidZone = zone;
  return ok;
}

function formatter(zone: string): Intl.DateTimeFormat {
  let f = formatters.get(zone);
  if (f === undefined) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(zone, f);
  }
  return f;
}

function computeOffset(epochMs: number, zone: string): number {
  const parts = formatter(zone).formatToParts(new Date(epochMs));
  const get = (type: string): number => Number(parts.find((p) => p.type === type)?.value);
  const asUtc = Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'), get('second'));
  const whole = Math.floor(epochMs / 1000) * 1000;
  return Math.round((asUtc - whole) / MINUTE);
}

/** Offset of `zone` from UTC in minutes at the instant `epochMs` (e.g. +330 for Asia/Kolkata). */
let lastZone = '';
let lastBucket = Number.NaN;
let lastOffset = 0;

export function offsetMinutes(epochMs: number, zone: string): number {
  const bucket = Math.floor(epochMs / BUCKET);
  if (bucket === lastBucket && zone === lastZone) return lastOffset;
  let byBucket = offsetCache.get(zone);
  if (byBucket === undefined) {
    byBucket = new Map();
    offsetCache.set(zone, byBucket);
  }
  let off = byBucket.get(bucket);
  if (off === undefined) {
    off = computeOffset(bucket * BUCKET, zone);
    if (byBucket.size > 20_000) byBucket.clear();
    byBucket.set(bucket, off);
  }
  lastZone = zone;
  lastBucket = bucket;
  lastOffset = off;
  return off;
}

export interface LocalTime {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  /** 0 = Sunday … 6 = Saturday */
  weekday: number;
  /** Minutes since local midnight. */
  minuteOfDay: number;
  offsetMinutes: number;
}

const DAY_MS = 86_400_000;
let civilDay = Number.NaN;
let civilDate: [number, number, number] = [1970, 1, 1];

/** The civil date of a day, cached for the last day asked (a decision asks for one or two). */
function civil(days: number): [number, number, number] {
  if (days !== civilDay) {
    civilDay = days;
    civilDate = civilFromDays(days);
  }
  return civilDate;
}

export function localTime(epochMs: number, zone: string): LocalTime {
  const off = offsetMinutes(epochMs, zone);
  const local = epochMs + off * MINUTE;
  const day = Math.floor(local / DAY_MS);
  const minuteOfDay = Math.floor((local - day * DAY_MS) / MINUTE);
  const [year, month, dayOfMonth] = civil(day);
  return {
    year,
    month,
    day: dayOfMonth,
    hour: Math.floor(minuteOfDay / 60),
    minute: minuteOfDay % 60,
    weekday: (((day + 4) % 7) + 7) % 7,
    minuteOfDay,
    offsetMinutes: off,
  };
}

/**
 * The instant at which the wall clock in `zone` shows the given local date and minute of day.
 * A wall time skipped by a spring-forward gap moves forward by the gap (02:30 → 03:30); a wall
 * time that happens twice (fall back) is its first occurrence.
 */
export function zonedInstant(year: number, month: number, day: number, minuteOfDay: number, zone: string): number {
  const naive = Date.UTC(year, month - 1, day, 0, minuteOfDay);
  const o1 = offsetMinutes(naive, zone);
  const t1 = naive - o1 * MINUTE;
  const o2 = offsetMinutes(t1, zone);
  if (o2 === o1) return t1;
  const t2 = naive - o2 * MINUTE;
  if (offsetMinutes(t2, zone) === o2) return t2;
  // In a gap: neither offset reproduces the wall time. The later of the two is after the gap.
  return Math.max(t1, t2);
}

/** Adds whole days to a local calendar date. */
export function addDays(year: number, month: number, day: number, days: number): [number, number, number] {
  const d = new Date(Date.UTC(year, month - 1, day + days));
  return [d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate()];
}

export function parseHhmm(s: string): number {
  const [h, m] = s.split(':');
  return Number(h) * 60 + Number(m);
}

export interface Window {
  start: number;
  end: number;
}

/** Whether a minute of day falls in the window (end exclusive; overnight windows allowed). */
export function inWindow(minuteOfDay: number, w: Window): boolean {
  return w.start < w.end ? minuteOfDay >= w.start && minuteOfDay < w.end : minuteOfDay >= w.start || minuteOfDay < w.end;
}

/**
 * The first instant at or after `epochMs` when sending is allowed. With `preferredMinute` (a best
 * hour) inside the window: from a closed time, that minute on the day the window opens; from an
 * open time, that minute if it comes before the window closes, else now. A message inside
 * allowed hours never waits for the next day's best hour.
 */
export function nextAllowed(epochMs: number, zone: string, w: Window, preferredMinute?: number): number {
  const lt = localTime(epochMs, zone);
  const prefer = preferredMinute !== undefined && inWindow(preferredMinute, w) ? preferredMinute : undefined;
  if (inWindow(lt.minuteOfDay, w)) {
    if (prefer === undefined) return epochMs;
    const ahead = (prefer - lt.minuteOfDay + 1440) % 1440;
    const untilClose = (w.end - lt.minuteOfDay + 1440) % 1440;
    if (ahead === 0 || ahead >= untilClose) return epochMs; // the best hour is now, or gone for this window
    return zonedInstant(lt.year, lt.month, lt.day, lt.minuteOfDay + ahead, zone);
  }
  // closed: a day window opens later today or tomorrow; an overnight one later today
  const dayOffset = w.start < w.end && lt.minuteOfDay >= w.start ? 1 : 0;
  const [y, m, d] = addDays(lt.year, lt.month, lt.day, dayOffset);
  const open = Math.max(zonedInstant(y, m, d, w.start, zone), epochMs);
  if (prefer === undefined) return open;
  // best hour on the day the window opens (for overnight windows past midnight, the next day)
  const dayShift = w.start < w.end || prefer >= w.start ? 0 : 1;
  const [py, pm, pd] = addDays(y, m, d, dayShift);
  return Math.max(zonedInstant(py, pm, pd, prefer, zone), open);
}
