import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from './logger.js';

describe('logs', () => {
  it('redact phone numbers, emails, tokens and message bodies', () => {
    const lines: string[] = [];
    const log = createLogger(
      'info',
      new Writable({
        write: (c, _e, cb) => {
          lines.push(String(c));
          cb();
        },
      }),
    );
    log.info(
      {
        contact: { phone: '+254700000001', email: 'a@b.example', identities: [{ kind: 'phone', value: '+254700000001' }] },
        msg2: { body: 'your code is 123456', to: '+254700000001' },
        oauth: { accessToken: 'tok-abc' },
        outbound: {
          rendered: { kind: 'rich', body: 'Hi Amina, invoice INV-7 is overdue', fallbackText: 'Invoice INV-7 overdue', buttons: [] },
          variables: { amount: 1250 },
        },
      },
      'sent',
    );
    const out = lines.join('');
    for (const secret of ['+254700000001', 'a@b.example', '123456', 'tok-abc', 'Amina', 'INV-7', '1250']) expect(out).not.toContain(secret);
    expect(out).toContain('[redacted]');
  });
});
