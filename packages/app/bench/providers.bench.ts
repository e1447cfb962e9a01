/**
 * pnpm bench (providers part): decide + send through the Twilio fake for 10,000 messages with
 * per-sender limits. Each message is decided by the engine with the default ruleset (transactional:
 * SMS first) and sent through the real Twilio provider (official SDK, over HTTP, to the local fake)
 * whose senders are each paced at their MPS in segments. The time is set against the limit's
 * bound: the busiest sender's segments ÷ its MPS (target ≤ 1.1×). Messages are 1 segment (GSM-7)
 * or, one in five, 2 segments (an emoji makes them UCS-2). 10 senders at 25 MPS (Twilio's
 * international long codes do 10, short codes 100): 250 segments/s keeps the sends well within one
 * core here (~1.6 ms of CPU per message, SDK and fake included). `BENCH_PROVIDER_MESSAGES`,
 * `BENCH_PROVIDER_SENDERS`, `BENCH_PROVIDER_MPS` adjust it. Benchmarks never fail CI.
 */
import { DEFAULT_RULESET, type DecisionContextInput, decide, loadRuleset, type OutboundMessage } from '@signalbox/engine';
import type { RenderedContent } from '../src/providers/content.js';
import { FakeTwilio } from '../src/providers/twilio/testing/fake-twilio.js';
import { TwilioProvider } from '../src/providers/twilio/twilio-provider.js';

const MESSAGES = Number(process.env.BENCH_PROVIDER_MESSAGES ?? 10_000);
const SENDERS = Number(process.env.BENCH_PROVIDER_SENDERS ?? 10);
const MPS = Number(process.env.BENCH_PROVIDER_MPS ?? 25);
const NOW = Date.parse('2026-11-23T07:00:00Z');

const TEXTS: RenderedContent[] = [
  {
    kind: 'text',
    text: 'Your order 4411 is on its way and arrives tomorrow between 10:00 and 12:00.',
    segments: { encoding: 'GSM-7', segments: 1, characters: 76 },
  },
  {
    kind: 'text',
    text: 'Your order 4411 is on its way 🚚 and arrives tomorrow between 10:00 and 12:00. Track it: https://t.example/4411',
    segments: { encoding: 'UCS-2', segments: 2, characters: 110 },
  },
];

async function main() {
  const fake = new FakeTwilio(`AC${'9'.repeat(32)}`, 'twilio-auth-token-0123456789');
  fake.callbacks = false;
  await fake.start();
  const senders = Array.from({ length: SENDERS }, (_, i) => `+1500555${String(1000 + i)}`);
  const provider = new TwilioProvider(
    {
      accountSid: fake.accountSid,
      authToken: fake.authToken,
      apiBase: fake.url,
      publicUrl: 'https://signalbox.example.com',
      smsFrom: senders,
      contentSids: {},
      mps: MPS,
      machineDetection: false,
      maxRetries: 3,
    },
    () => ({ description: 'Your order is on its way', marketing: false }),
  );
  const rs = loadRuleset(DEFAULT_RULESET);
  const load = new Map<string, number>();
  let decideNs = 0n;
  let segments = 0;
  const started = performance.now();
  const cpu0 = process.cpuUsage();
  const sends: Array<Promise<unknown>> = [];
  for (let i = 0; i < MESSAGES; i++) {
    const phone = `+2547${String(10_000_000 + i).slice(-8)}`;
    const context: DecisionContextInput = {
      contact: { id: `c${i}`, identities: [{ kind: 'phone', value: phone }], market: 'KE', timezone: 'Africa/Nairobi' },
    };
    const t0 = process.hrtime.bigint();
    const d = decide({ idempotencyKey: `k${i}`, type: 'transactional', template: 'order_update' }, context, rs, NOW);
    decideNs += process.hrtime.bigint() - t0;
    const step = d.plan[0];
    if (d.outcome !== 'send' || step?.channel !== 'sms') throw new Error(`unexpected decision: ${d.outcome} ${step?.channel}`);
    const rendered = TEXTS[i % 5 === 4 ? 1 : 0] as Extract<RenderedContent, { kind: 'text' }>;
    segments += rendered.segments.segments;
    const from = provider.smsSender(phone);
    load.set(from, (load.get(from) ?? 0) + rendered.segments.segments);
    const m: OutboundMessage = {
      claim: `m${i}:0`,
      messageId: `m${i}`,
      channel: 'sms',
      to: phone,
      content: step.content,
      rendered,
      template: 'order_update',
      variables: {},
      estimatedCost: step.estimatedCost,
      market: 'KE',
    };
    sends.push(
      provider.send(m).then((r) => {
        if (r.status !== 'accepted') throw new Error(`send refused: ${r.error}`);
      }),
    );
  }
  await Promise.all(sends);
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const cpuMsPerMessage = (cpu.user + cpu.system) / 1000 / MESSAGES;
  const busiest = Math.max(...load.values());
  const bound = busiest / MPS;
  console.log(
    `decide + send through the Twilio fake: ${MESSAGES} messages (${segments} segments) over ${SENDERS} senders at ${MPS} MPS each in ${seconds.toFixed(2)} s; per-sender bound ${bound.toFixed(2)} s (busiest sender: ${busiest} segments), ratio ${(seconds / bound).toFixed(3)} (target ≤ 1.1); decide ${(Number(decideNs) / 1000 / MESSAGES).toFixed(1)} µs per message; CPU ${cpuMsPerMessage.toFixed(2)} ms per message (this process: decide, SDK, limiter and the fake); ${fake.messages().length} requests at the fake`,
  );
  await provider.stop();
  await fake.stop();
}

await main();
