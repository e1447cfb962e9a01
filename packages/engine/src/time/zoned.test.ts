import { describe, expect, it } from 'vitest';
import { inWindow, localTime, nextAllowed, offsetMinutes, zonedInstant } from './zoned.js';

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
