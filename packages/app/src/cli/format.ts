import type { Decision, Problem } from '@signalbox/engine';
import { localTime } from '@signalbox/engine';
import type { ImpactData, Tally } from '../dry-run/impact.js';
import type { Simulation } from '../journeys/simulate.js';
import type { RulesetDiff } from '../rules/ruleset-diff.js';

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

const show = (v: unknown) => (v === undefined ? '—' : JSON.stringify(v));

/** A structural diff as an admin reads it: counts per section, then every item with its leaf changes. */
export function formatDiff(a: string, b: string, d: RulesetDiff): string {
  if (d.identical) return `${a} and ${b} are the same ruleset.`;
  const out = [`Changes from ${a} to ${b}:`];
  for (const [section, s] of Object.entries(d.summary)) out.push(`  ${pad(section, 12)} +${s.added} -${s.removed} ~${s.changed}`);
  for (const i of d.items) {
    out.push(`${i.change === 'added' ? '+' : i.change === 'removed' ? '-' : '~'} ${i.section} ${i.key}  (${i.pointer})`);
    for (const c of i.changes.slice(0, 12)) out.push(`    ${c.pointer}  ${c.op}: ${show(c.from)} → ${show(c.to)}`);
    if (i.changes.length > 12) out.push(`    … and ${i.changes.length - 12} more`);
  }
  return out.join('\n');
}

const tally = (t: Tally) => `send ${t.send} · defer ${t.defer} · suppress ${t.suppress} · review ${t.review} · cost ${t.cost.toFixed(2)}`;

/** A dry run's impact: totals, the changes, the groups that changed, and a few examples of each change. */
export function formatImpact(title: string, i: ImpactData, examplesPerChange = 3): string {
  const out = [title, `  ${i.contacts} contacts, ${i.decisions} decisions, ${i.changed} change`];
  out.push(`  active:    ${tally(i.baseline)}`, `  candidate: ${tally(i.candidate)}`);
  const transitions = Object.entries(i.transitions);
  if (transitions.length === 0) {
    out.push('  no decision changes.');
    return out.join('\n');
  }
  out.push('Changes:', ...transitions.map(([t, n]) => `  ${pad(t, 22)} ${n}`));
  out.push('Groups that change (team, workflow, message type, market):');
  for (const g of i.groups.filter((x) => x.changed > 0).sort((x, y) => y.changed - x.changed))
    out.push(
      `  ${pad(g.team, 10)} ${pad(g.workflow, 12)} ${pad(g.messageType, 13)} ${pad(g.market, 6)} ${g.changed}/${g.decisions} change`,
      `      active:    ${tally(g.baseline)}`,
      `      candidate: ${tally(g.candidate)}`,
    );
  out.push('Examples:');
  for (const [t, list] of Object.entries(i.examples)) {
    out.push(`  ${t}:`);
    for (const e of list.slice(0, examplesPerChange)) {
      const why = (s: typeof e.baseline) => s.reasons.find((r) => r.rule !== undefined) ?? s.reasons.at(-1);
      const b = why(e.baseline);
      const c = why(e.candidate);
      out.push(
        `    ${e.contactId} (${e.market}): ${e.baseline.outcome}${e.baseline.channel ? ` by ${e.baseline.channel}` : ''} → ${e.candidate.outcome}${e.candidate.channel ? ` by ${e.candidate.channel}` : ''}`,
        `      active:    ${b ? `${b.rule ?? b.code}: ${b.message}` : '—'}`,
        `      candidate: ${c ? `${c.rule ?? c.code}: ${c.message}` : '—'}`,
      );
    }
  }
  return out.join('\n');
}

/** A simulated journey's timeline, one line per entry, then how it ended. */
export function formatSimulation(s: Simulation): string {
  const out = [`Journey ${s.journeyId} (ruleset ${s.rulesetVersion}), simulated:`];
  for (const e of s.timeline) {
    const at = e.at.slice(0, 16).replace('T', ' ');
    switch (e.kind) {
      case 'event':
        out.push(`  ${at}  event ${e.type}: ${e.effect}`);
        break;
      case 'timer':
        out.push(`  ${at}  timer of step ${e.step} fires`);
        break;
      case 'send':
        out.push(
          `  ${at}  send ${e.step} (${e.messageType}) → ${e.outcome}${e.channel ? ` by ${e.channel}` : ''}${e.deferred && e.sendAt ? ` at ${e.sendAt.slice(0, 16).replace('T', ' ')}` : ''}, cost ${e.estimatedCost}`,
        );
        for (const r of e.reasons.filter((x) => x.rule !== undefined || x.stage === 'timing').slice(0, 4))
          out.push(`      ${r.rule ?? r.code}: ${r.message}`);
        break;
      case 'wait':
        out.push(`  ${at}  wait at ${e.step} until ${e.until.slice(0, 16).replace('T', ' ')} for ${e.for.join(', ') || 'the timer'}`);
        break;
      case 'cancel':
        out.push(`  ${at}  cancelled (${e.reason}): ${e.timers} timer(s), unsent ${e.unsent.join(', ') || 'none'}`);
        break;
      case 'complete':
        out.push(`  ${at}  complete: ${e.outcome}${e.goalReached ? ' (goal reached)' : ''}`);
        break;
    }
  }
  out.push(
    `Final: ${s.final.status}${s.final.outcome ? `, ${s.final.outcome}` : ''}; ${s.sends} send(s), estimated cost ${s.estimatedCost}${s.truncated ? ` (stopped after ${s.timeline.length} timeline entries: the journey loops)` : ''}`,
  );
  return out.join('\n');
}
