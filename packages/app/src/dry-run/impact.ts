import type { Decision, Outcome } from '@signalbox/engine';

/** How many decisions came out each way, on which primary channel, at what estimated cost. */
export interface Tally {
  send: number;
  defer: number;
  suppress: number;
  review: number;
  /** Primary channel of the decisions that will send something (send, defer, review). */
  channels: Record<string, number>;
  cost: number;
}

export interface ImpactGroup {
  team: string;
  workflow: string;
  messageType: string;
  market: string;
  decisions: number;
  changed: number;
  baseline: Tally;
  candidate: Tally;
}

/** One decision as an example shows it: outcome, channel, time, cost and every reason. */
export interface ExampleSide {
  outcome: Outcome;
  channel: string | null;
  sendAt: string | null;
  cost: number;
  reasons: Decision['reasons'];
}

export interface Example {
  contactId: string;
  market: string;
  messageType: string;
  team: string;
  at: string;
  baseline: ExampleSide;
  candidate: ExampleSide;
}

/** The impact as plain data (what crosses threads, and what is stored). */
export interface ImpactData {
  contacts: number;
  decisions: number;
  changed: number;
  baseline: Tally;
  candidate: Tally;
  /** `send→defer` (outcome changed) or `send: other plan` (same outcome, other channel or time): counts. */
  transitions: Record<string, number>;
  groups: ImpactGroup[];
  examples: Record<string, Example[]>;
}

export const EXAMPLES_PER_CHANGE = 20;

const emptyTally = (): Tally => ({ send: 0, defer: 0, suppress: 0, review: 0, channels: {}, cost: 0 });

/** A channel's count so far (its own: a channel named `constructor` is not Object.prototype's). */
const countOf = (channels: Record<string, number>, ch: string): number => (Object.hasOwn(channels, ch) ? (channels[ch] as number) : 0);

function count(t: Tally, d: Decision): void {
  t[d.outcome]++;
  if (d.outcome !== 'suppress') {
    const ch = d.plan[0]?.channel;
    if (ch !== undefined) t.channels[ch] = countOf(t.channels, ch) + 1;
    t.cost += d.estimatedCost;
  }
}

function addTally(into: Tally, t: Tally): void {
  into.send += t.send;
  into.defer += t.defer;
  into.suppress += t.suppress;
  into.review += t.review;
  into.cost += t.cost;
  for (const [ch, n] of Object.entries(t.channels)) into.channels[ch] = countOf(into.channels, ch) + n;
}

const round6 = (x: number) => Math.round(x * 1e6) / 1e6;

const side = (d: Decision): ExampleSide => ({
  outcome: d.outcome,
  channel: d.outcome === 'suppress' ? null : (d.plan[0]?.channel ?? null),
  sendAt: d.sendAt,
  cost: d.estimatedCost,
  reasons: d.reasons,
});

/**
 * The impact of a rules change, accumulated decision by decision (the candidate's against the
 * baseline's for the same request, contact and moment), per team, workflow, message type and
 * market, with the first examples (lowest contact ids) of each change. Partial impacts from
 * several threads merge into the same result whatever the split.
 */
export class Impact {
  private contacts = 0;
  private decisions = 0;
  private changed = 0;
  private readonly baseline = emptyTally();
  private readonly candidate = emptyTally();
  private readonly transitions = new Map<string, number>();
  private readonly groups = new Map<string, ImpactGroup>();
  private readonly examples = new Map<string, Example[]>();

  contact(): void {
    this.contacts++;
  }

  add(g: { team: string; workflow: string; messageType: string; market: string }, contactId: string, b: Decision, c: Decision): void {
    this.decisions++;
    count(this.baseline, b);
    count(this.candidate, c);
    const key = `${g.team}\u0000${g.workflow}\u0000${g.messageType}\u0000${g.market}`;
    let group = this.groups.get(key);
    if (group === undefined) {
      group = { ...g, decisions: 0, changed: 0, baseline: emptyTally(), candidate: emptyTally() };
      this.groups.set(key, group);
    }
    group.decisions++;
    count(group.baseline, b);
    count(group.candidate, c);
    const sameOutcome = b.outcome === c.outcome;
    const samePlan = sameOutcome && b.sendAt === c.sendAt && b.plan[0]?.channel === c.plan[0]?.channel;
    if (samePlan) return;
    this.changed++;
    group.changed++;
    const t = sameOutcome ? `${b.outcome}: other plan` : `${b.outcome}→${c.outcome}`;
    this.transitions.set(t, (this.transitions.get(t) ?? 0) + 1);
    const list = this.examples.get(t) ?? [];
    if (list.length < EXAMPLES_PER_CHANGE) {
      list.push({
        contactId,
        market: g.market,
        messageType: g.messageType,
        team: g.team,
        at: c.decidedAt,
        baseline: side(b),
        candidate: side(c),
      });
      this.examples.set(t, list);
    }
  }

  data(): ImpactData {
    return {
      contacts: this.contacts,
      decisions: this.decisions,
      changed: this.changed,
      baseline: this.baseline,
      candidate: this.candidate,
      transitions: Object.fromEntries(this.transitions),
      groups: [...this.groups.values()],
      examples: Object.fromEntries(this.examples),
    };
  }

  /** Several partial impacts as one: counts add up, examples keep the lowest contact ids. */
  static merge(parts: readonly ImpactData[]): ImpactData {
    const out: ImpactData = {
      contacts: 0,
      decisions: 0,
      changed: 0,
      baseline: emptyTally(),
      candidate: emptyTally(),
      transitions: {},
      groups: [],
      examples: {},
    };
    const groups = new Map<string, ImpactGroup>();
    for (const p of parts) {
      out.contacts += p.contacts;
      out.decisions += p.decisions;
      out.changed += p.changed;
      addTally(out.baseline, p.baseline);
      addTally(out.candidate, p.candidate);
      for (const [t, n] of Object.entries(p.transitions)) out.transitions[t] = (out.transitions[t] ?? 0) + n;
      for (const g of p.groups) {
        const key = `${g.team}\u0000${g.workflow}\u0000${g.messageType}\u0000${g.market}`;
        const into = groups.get(key);
        if (into === undefined) groups.set(key, structuredClone(g));
        else {
          into.decisions += g.decisions;
          into.changed += g.changed;
          addTally(into.baseline, g.baseline);
          addTally(into.candidate, g.candidate);
        }
      }
      for (const [t, list] of Object.entries(p.examples)) out.examples[t] = [...(out.examples[t] ?? []), ...list];
    }
    for (const t of Object.keys(out.examples))
      out.examples[t] = (out.examples[t] ?? [])
        .sort((a, b) => (a.contactId < b.contactId ? -1 : a.contactId > b.contactId ? 1 : a.at < b.at ? -1 : 1))
        .slice(0, EXAMPLES_PER_CHANGE);
    const round = (t: Tally) => {
      t.cost = round6(t.cost);
    };
    round(out.baseline);
    round(out.candidate);
    out.groups = [...groups.values()]
      .map((g) => {
        round(g.baseline);
        round(g.candidate);
        return g;
      })
      .sort(
        (a, b) =>
          b.changed - a.changed ||
          b.decisions - a.decisions ||
          (a.team + a.messageType + a.market < b.team + b.messageType + b.market ? -1 : 1),
      );
    return out;
  }
}
