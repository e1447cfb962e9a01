import { describe, expect, it } from 'vitest';
import { SenderLimits } from './sender-limits.js';

describe('per-sender limits', () => {
  it('a message weighs its segments against its own sender’s budget only', async () => {
    const l = new SenderLimits({ perSecond: 10 });
    await l.schedule('+15005550006', 3, async () => 'sent');
    await l.schedule('+15005550006', 1, async () => 'sent');
    await l.schedule('+15005550007', 2, async () => 'sent');
    expect(await l.remaining('+15005550006')).toBe(6);
    expect(await l.remaining('+15005550007')).toBe(8);
    expect(await l.remaining('+15005550008')).toBeNull();
    await l.stop();
  });

  it('a message heavier than a second’s budget takes the whole second (it would otherwise never go)', async () => {
    const l = new SenderLimits({ perSecond: 2 });
    expect(await l.schedule('s', 7, async () => 'sent')).toBe('sent');
    expect(await l.remaining('s')).toBe(0);
    await l.stop();
  });
});
