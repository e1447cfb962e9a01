import { describe, expect, it } from 'vitest';
import { smsSegments } from './segments.js';

describe('SMS segments: GSM-7 (with the extension table) vs UCS-2', () => {
  it('counts plain GSM-7 text: 160 in one part, 153 per part beyond', () => {
    expect(smsSegments('a'.repeat(160))).toEqual({ encoding: 'GSM-7', segments: 1, characters: 160 });
    expect(smsSegments('a'.repeat(161))).toEqual({ encoding: 'GSM-7', segments: 2, characters: 161 });
    expect(smsSegments('a'.repeat(306))).toEqual({ encoding: 'GSM-7', segments: 2, characters: 306 });
    expect(smsSegments('a'.repeat(307))).toEqual({ encoding: 'GSM-7', segments: 3, characters: 307 });
    expect(smsSegments('')).toEqual({ encoding: 'GSM-7', segments: 0, characters: 0 });
  });

  it('keeps accented letters of the basic table in GSM-7', () => {
    expect(smsSegments('Grüße aus München, señor Müller: 5 £ à payer').encoding).toBe('GSM-7');
  });

  it('counts extension characters (€ [ ] { } ~ ^ | \\) double', () => {
    expect(smsSegments('€')).toEqual({ encoding: 'GSM-7', segments: 1, characters: 2 });
    // 80 euro signs are 160 septets: one part; 81 are 162: two
    expect(smsSegments('€'.repeat(80)).segments).toBe(1);
    expect(smsSegments('€'.repeat(81))).toEqual({ encoding: 'GSM-7', segments: 2, characters: 162 });
    expect(smsSegments('[x]{y}~^|\\').characters).toBe(18);
  });

  it('never splits an escape sequence across parts', () => {
    // 152 plain + € (2 septets) does not fit in a 153-septet part: the € opens the second part
    const text = `${'a'.repeat(152)}€${'b'.repeat(150)}`;
    expect(smsSegments(text)).toEqual({ encoding: 'GSM-7', segments: 2, characters: 304 });
    expect(smsSegments(`${'a'.repeat(152)}€${'b'.repeat(152)}`).segments).toBe(3);
  });

  it('one emoji turns the whole message into UCS-2 and can triple an SMS', () => {
    const text =
      'Your invoice INV-2041 of 1,250.00 KES is overdue. Pay now at https://pay.example.com/i/2041 or reply HELP for help, thank you!';
    expect(text.length).toBeLessThanOrEqual(160);
    expect(smsSegments(text)).toEqual({ encoding: 'GSM-7', segments: 1, characters: text.length });
    const withEmoji = `${text} 🙏`;
    expect(smsSegments(withEmoji)).toEqual({ encoding: 'UCS-2', segments: 2, characters: text.length + 3 });
    const long = `${'a'.repeat(150)} 🙂`;
    expect(smsSegments(long.replace(' 🙂', ''))).toMatchObject({ encoding: 'GSM-7', segments: 1 });
    expect(smsSegments(long)).toEqual({ encoding: 'UCS-2', segments: 3, characters: 153 });
  });

  it('counts UCS-2 in UTF-16 units: 70 alone, 67 per part, emoji never split', () => {
    expect(smsSegments('д'.repeat(70))).toEqual({ encoding: 'UCS-2', segments: 1, characters: 70 });
    expect(smsSegments('д'.repeat(71))).toEqual({ encoding: 'UCS-2', segments: 2, characters: 71 });
    expect(smsSegments('д'.repeat(134)).segments).toBe(2);
    expect(smsSegments('д'.repeat(135)).segments).toBe(3);
    // 66 units then a 2-unit emoji: it goes whole into the second part
    expect(smsSegments(`${'д'.repeat(66)}😀${'д'.repeat(66)}`).segments).toBe(3);
    expect(smsSegments('’').encoding).toBe('UCS-2');
  });
});
