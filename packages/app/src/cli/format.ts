import type { Decision, Problem } from '@signalbox/engine';
import { localTime } from '@signalbox/engine';

const pad = (s: string, n: number) => (s.length >= n ? s : s + ' '.repeat(n - s.length));
const hhmm = (iso: string, zone: string | undefined) => {
  if (zone === undefined) return '';
  const lt = localTime(Date.parse(iso), zone);
  return ` (${String(lt.hour).padStart(2, '0')}:${String(lt.minute).padStart(2, '0')} ${zone})`;
};

/** A decision as a person reads it: verdict, when, the plan step by step, and every reason. */
export function formatDecision(d: Decision, zone?: string): string {
  const out: string[] = [];
  out.push(
    `Decision: ${d.outcome.toUpperCase()}  ${d.messageType} message, purpose ${d.purpose}, contact ${d.contactId}, ruleset ${d.rulesetVersion}`,
  );
  out.push(`Decided:  ${d.decidedAt}${hhmm(d.decidedAt, zone)}`);
  if (d.sendAt !== null) out.push(`Send at:  ${d.sendAt}${hhmm(d.sendAt, zone)}`);
  if (d.plan.length > 0) {
    out.push('Plan:');
    for (const s of d.plan) {
      const when =
        s.mode === 'primary'
          ? `at ${s.sendAt}`
          : s.mode === 'fallback'
            ? `if step ${s.after} fails or is not delivered in time, from ${s.sendAt}`
            : `${s.delayMinutes} min after step ${s.after}, whatever happens to it (${s.sendAt})`;
      const wait = s.timeoutMinutes !== null ? `; wait ${s.timeoutMinutes} min for delivery` : '';
      out.push(
        `  ${s.step}  ${pad(s.mode, 9)} ${pad(s.channel, 9)} ${pad(s.content, 10)} ${pad(`${s.estimatedCost} ${d.currency}`, 12)} ${when}${wait}`,
      );
    }
    out.push(`Estimated cost: ${d.estimatedCost} ${d.currency}`);
  }
  out.push('Reasons:');
  for (const r of d.reasons) {
    const who = r.rule ? `rule ${r.rule}${r.effect ? ` (${r.effect})` : ''}` : r.code;
    out.push(`  [${pad(r.stage, 11)}] ${r.channel ? `${pad(r.channel, 9)} ` : ''}${who}: ${r.message}`);
  }
  return out.join('\n');
}

export function formatProblems(problems: readonly Problem[]): string {
  return problems.map((p) => `  ${p.path || '/'}: ${p.message}`).join('\n');
}
