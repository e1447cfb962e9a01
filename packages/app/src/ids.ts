import { randomBytes } from 'node:crypto';

let lastMs = -1;
let seq = 0;

/**
 * UUIDv7 (RFC 9562): time-ordered, and monotonic within this process: ids minted in the same
 * millisecond carry an increasing 12-bit counter (method 1 of §6.2), so a batch keeps its order.
 */
export function uuidv7(nowMs: number = Date.now()): string {
  let ms = Math.max(nowMs, lastMs);
  if (ms === lastMs) {
    seq++;
    if (seq > 0xfff) {
      ms++;
      seq = 0;
    }
  } else seq = randomBytes(2).readUInt16BE(0) & 0x3ff; // room to count up
  lastMs = ms;
  const b = randomBytes(16);
  const t = BigInt(ms);
  for (let i = 0; i < 6; i++) b[i] = Number((t >> BigInt(8 * (5 - i))) & 0xffn);
  b[6] = 0x70 | ((seq >> 8) & 0x0f);
  b[7] = seq & 0xff;
  b[8] = ((b[8] as number) & 0x3f) | 0x80;
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
