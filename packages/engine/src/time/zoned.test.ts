import { describe, expect, it } from 'vitest';
import { addDays, inWindow, isValidTimeZone, localTime, nextAllowed, offsetMinutes, parseHhmm, zonedInstant } from './zoned.js';

const t = (iso: string) => Date.parse(iso);
const W = { start: 8 * 60, end: 21 * 60 };

describe('recipient local time', () => {
  it('follows Europe/Berlin across the spring-forward transition (2026-03-29 01:00Z)', () => {
    expect(offsetMinutes(t('2026-03-29T00:59:00Z'), 'Europe/Berlin')).toBe(60);
    expect(offsetMinutes(t('2026-03-29T01:00:00Z'), 'Europe/Berlin')).toBe(120);
    expect(localTime(t('2026-03-29T00:30:00Z'), 'Europe/Berlin').hour).toBe(1);
    expect(localTime(t('2026-03-29T01:30:00Z'), 'Europe/Berlin').hour).toBe(3);
  });
  it('follows Europe/Berlin across the fall-back transition (2026-10-25 01:00Z)', () => {
    expect(offsetMinutes(t('2026-10-25T00:59:00Z'), 'Europe/Berlin')).toBe(120);
    expect(offsetMinutes(t('2026-10-25T01:00:00Z'), 'Europe/Berlin')).toBe(60);
    // 02:30 local happens twice
    expect(localTime(t('2026-10-25T00:30:00Z'), 'Europe/Berlin').hour).toBe(2);
    expect(localTime(t('2026-10-25T01:30:00Z'), 'Europe/Berlin').hour).toBe(2);
  });
  it('handles a 30-minute offset (Asia/Kolkata, +05:30) and a 30-minute DST shift (Australia/Lord_Howe)', () => {
    expect(offsetMinutes(t('2026-06-01T00:00:00Z'), 'Asia/Kolkata')).toBe(330);
    const lt = localTime(t('2026-06-01T02:45:00Z'), 'Asia/Kolkata');
    expect([lt.hour, lt.minute]).toEqual([8, 15]);
    expect(offsetMinutes(t('2026-07-01T00:00:00Z'), 'Australia/Lord_Howe')).toBe(630);
    expect(offsetMinutes(t('2026-12-01T00:00:00Z'), 'Australia/Lord_Howe')).toBe(660);
    expect(offsetMinutes(t('2026-06-01T00:00:00Z'), 'Asia/Kathmandu')).toBe(345);
  });
  it('turns a local wall time into the right instant on DST days', () => {
    // 08:00 Berlin on the spring-forward day is 06:00Z (UTC+2 by then)
    expect(new Date(zonedInstant(2026, 3, 29, 8 * 60, 'Europe/Berlin')).toISOString()).toBe('2026-03-29T06:00:00.000Z');
    // 08:00 Berlin on the fall-back day is 07:00Z (UTC+1 by then)
    expect(new Date(zonedInstant(2026, 10, 25, 8 * 60, 'Europe/Berlin')).toISOString()).toBe('2026-10-25T07:00:00.000Z');
    // 02:30 on spring-forward day does not exist: resolves to just after the gap
    const gap = zonedInstant(2026, 3, 29, 150, 'Europe/Berlin');
    expect(localTime(gap, 'Europe/Berlin').hour).toBe(3);
    // New York, both transitions
    expect(new Date(zonedInstant(2026, 3, 8, 8 * 60, 'America/New_York')).toISOString()).toBe('2026-03-08T12:00:00.000Z');
    expect(new Date(zonedInstant(2026, 11, 1, 8 * 60, 'America/New_York')).toISOString()).toBe('2026-11-01T13:00:00.000Z');
  });
});

describe('local time arithmetic', () => {
  it('matches Date over 20,000 random instants and zones', () => {
    const zones = [
      'UTC',
      'Europe/Berlin',
      'Asia/Kolkata',
      'America/New_York',
      'Australia/Lord_Howe',
      'Pacific/Kiritimati',
      'America/St_Johns',
    ];
    let seed = 7;
    const next = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
      return seed / 2_147_483_648;
    };
    for (let i = 0; i < 20_000; i++) {
      const ms = Math.floor(next() * 4_000_000_000_000);
      const zone = zones[i % zones.length] as string;
      const lt = localTime(ms, zone);
      const d = new Date(ms + lt.offsetMinutes * 60_000);
      expect([lt.year, lt.month, lt.day, lt.hour, lt.minute, lt.weekday]).toEqual([
        d.getUTCFullYear(),
        d.getUTCMonth() + 1,
        d.getUTCDate(),
        d.getUTCHours(),
        d.getUTCMinutes(),
        d.getUTCDay(),
      ]);
    }
  });
});

describe('sending windows', () => {
  it('windows include the start, exclude the end, and may span midnight', () => {
    expect(inWindow(8 * 60, W)).toBe(true);
    expect(inWindow(21 * 60, W)).toBe(false);
    expect(inWindow(23 * 60, { start: 22 * 60, end: 6 * 60 })).toBe(true);
    expect(inWindow(7 * 60, { start: 22 * 60, end: 6 * 60 })).toBe(false);
  });
  it('defers from a Saturday night in Berlin over the fall-back night to 08:00 local', () => {
    // 22:00 Berlin on 2026-10-24 (UTC+2) → 08:00 on 2026-10-25 (UTC+1) = 07:00Z
    expect(new Date(nextAllowed(t('2026-10-24T20:00:00Z'), 'Europe/Berlin', W)).toISOString()).toBe('2026-10-25T07:00:00.000Z');
  });
  it('defers over the spring-forward night to 08:00 local', () => {
    expect(new Date(nextAllowed(t('2026-03-28T21:30:00Z'), 'Europe/Berlin', W)).toISOString()).toBe('2026-03-29T06:00:00.000Z');
  });
  it('defers early morning to the same day in Kolkata', () => {
    // 05:00 IST = 23:30Z the day before
    expect(new Date(nextAllowed(t('2026-06-01T23:30:00Z'), 'Asia/Kolkata', W)).toISOString()).toBe('2026-06-02T02:30:00.000Z');
  });
  it('aims for a preferred minute inside the window', () => {
    // 22:30 Nairobi → next day at 19:00 Nairobi
    expect(new Date(nextAllowed(t('2026-11-23T19:30:00Z'), 'Africa/Nairobi', W, 19 * 60)).toISOString()).toBe('2026-11-24T16:00:00.000Z');
    // a preferred minute outside the window is ignored
    expect(new Date(nextAllowed(t('2026-11-23T19:30:00Z'), 'Africa/Nairobi', W, 23 * 60)).toISOString()).toBe('2026-11-24T05:00:00.000Z');
  });
  it('leaves a time already inside the window alone', () => {
    expect(nextAllowed(t('2026-11-23T10:00:00Z'), 'Africa/Nairobi', W)).toBe(t('2026-11-23T10:00:00Z'));
  });
});

const iso = (ms: number) => new Date(ms).toISOString();

describe('zones asked one after the other', () => {
  it('a second zone asked within the same 15 minutes gets its own offset, not the first one’s', () => {
    const at = t('2026-06-01T12:05:00Z');
    expect(offsetMinutes(at, 'Europe/Berlin')).toBe(120);
    expect(offsetMinutes(at + 60_000, 'Asia/Kolkata')).toBe(330);
    expect(offsetMinutes(at + 120_000, 'America/New_York')).toBe(-240);
    expect(offsetMinutes(at, 'Europe/Berlin')).toBe(120);
    expect(localTime(at, 'Asia/Kolkata').hour).toBe(17);
    expect(localTime(at, 'Europe/Berlin').hour).toBe(14);
  });
  it('a valid zone asked before an invalid one does not make the invalid one valid', () => {
    expect(isValidTimeZone('Europe/Berlin')).toBe(true);
    expect(isValidTimeZone('Europe/Berlinn')).toBe(false);
    expect(isValidTimeZone('Europe/Berlin')).toBe(true);
    expect(isValidTimeZone('Europe/Berlinn')).toBe(false);
  });
  it('local dates across a day boundary in two zones', () => {
    const at = t('2026-12-31T23:30:00Z');
    const tokyo = localTime(at, 'Asia/Tokyo');
    const ny = localTime(at, 'America/New_York');
    expect([tokyo.year, tokyo.month, tokyo.day, tokyo.hour, tokyo.minute, tokyo.weekday]).toEqual([2027, 1, 1, 8, 30, 5]);
    expect([ny.year, ny.month, ny.day, ny.hour, ny.minute, ny.weekday]).toEqual([2026, 12, 31, 18, 30, 4]);
  });
});

describe('wall times on DST days west of UTC (New York)', () => {
  it('02:30 on the March change day does not exist: it resolves forward by the gap, to 03:30 EDT', () => {
    const gap = zonedInstant(2026, 3, 8, 150, 'America/New_York');
    expect(iso(gap)).toBe('2026-03-08T07:30:00.000Z');
    expect([localTime(gap, 'America/New_York').hour, localTime(gap, 'America/New_York').minute]).toEqual([3, 30]);
  });
  it('01:30 on the November change day happens twice: the first (EDT) is taken', () => {
    expect(iso(zonedInstant(2026, 11, 1, 90, 'America/New_York'))).toBe('2026-11-01T05:30:00.000Z');
  });
  it('a quiet night over the March change ends at 08:00 EDT', () => {
    // 22:00 EST on 7 March → 08:00 EDT on 8 March = 12:00Z
    expect(iso(nextAllowed(t('2026-03-08T03:00:00Z'), 'America/New_York', W))).toBe('2026-03-08T12:00:00.000Z');
  });
});

describe('calendar and clock helpers', () => {
  it('adds days across month and year ends, and reads HH:MM to the minute', () => {
    expect(addDays(2026, 12, 31, 1)).toEqual([2027, 1, 1]);
    expect(addDays(2028, 2, 28, 1)).toEqual([2028, 2, 29]);
    expect(addDays(2026, 3, 1, -1)).toEqual([2026, 2, 28]);
    expect(parseHhmm('08:30')).toBe(510);
    expect(parseHhmm('20:45')).toBe(1245);
    expect(parseHhmm('24:00')).toBe(1440);
  });
  it('an overnight window includes its start and excludes its end', () => {
    const night = { start: 22 * 60, end: 6 * 60 };
    expect([22 * 60, 23 * 60 + 59, 0, 5 * 60 + 59].map((m) => inWindow(m, night))).toEqual([true, true, true, true]);
    expect([6 * 60, 12 * 60, 21 * 60 + 59].map((m) => inWindow(m, night))).toEqual([false, false, false]);
    expect([7 * 60 + 59, 20 * 60 + 59].map((m) => inWindow(m, W))).toEqual([false, true]);
  });
});

describe('the next allowed instant with a best hour', () => {
  const NBO = 'Africa/Nairobi'; // UTC+3
  const at = (day: number, h: number, m = 0) => Date.UTC(2026, 10, day, h - 3, m);
  it('inside the window, a best hour still ahead today is waited for', () => {
    expect(nextAllowed(at(23, 10), NBO, W, 15 * 60)).toBe(at(23, 15));
    expect(nextAllowed(at(23, 10), NBO, W, 20 * 60 + 59)).toBe(at(23, 20, 59));
  });
  it('inside the window past the best hour, or at it, the message goes now: it never waits a day', () => {
    expect(nextAllowed(at(23, 10), NBO, W, 9 * 60)).toBe(at(23, 10));
    expect(nextAllowed(at(23, 10), NBO, W, 10 * 60)).toBe(at(23, 10));
    expect(nextAllowed(at(23, 10, 30), NBO, W, 10 * 60)).toBe(at(23, 10, 30));
  });
  it('a best hour outside the window is ignored', () => {
    expect(nextAllowed(at(23, 10), NBO, W, 22 * 60)).toBe(at(23, 10));
    expect(nextAllowed(at(23, 6), NBO, W, 22 * 60)).toBe(at(23, 8));
  });
  it('from the early morning, the best hour of the same day; from the evening, of the next day', () => {
    expect(nextAllowed(at(23, 6), NBO, W, 9 * 60)).toBe(at(23, 9));
    expect(nextAllowed(at(23, 6), NBO, W, 8 * 60)).toBe(at(23, 8));
    expect(nextAllowed(at(23, 21), NBO, W, 9 * 60)).toBe(at(24, 9));
    expect(nextAllowed(at(23, 21), NBO, W)).toBe(at(24, 8));
  });
  describe('an allowed window across midnight (20:00–04:00)', () => {
    const night = { start: 20 * 60, end: 4 * 60 };
    it('from a closed afternoon: the opening, or the best hour that night (after midnight: the next date)', () => {
      expect(nextAllowed(at(23, 10), NBO, night)).toBe(at(23, 20));
      expect(nextAllowed(at(23, 10), NBO, night, 22 * 60)).toBe(at(23, 22));
      expect(nextAllowed(at(23, 10), NBO, night, 2 * 60)).toBe(at(24, 2));
    });
    it('from inside, before midnight: a best hour later that night, after midnight included', () => {
      expect(nextAllowed(at(23, 23), NBO, night, 2 * 60)).toBe(at(24, 2));
      expect(nextAllowed(at(23, 21), NBO, night, 23 * 60)).toBe(at(23, 23));
      expect(nextAllowed(at(23, 23), NBO, night, 21 * 60)).toBe(at(23, 23));
    });
    it('from inside, after midnight: only what is left of the night counts', () => {
      expect(nextAllowed(at(24, 1), NBO, night, 3 * 60)).toBe(at(24, 3));
      expect(nextAllowed(at(24, 1), NBO, night, 22 * 60)).toBe(at(24, 1));
      expect(nextAllowed(at(24, 1), NBO, night)).toBe(at(24, 1));
    });
  });
});
