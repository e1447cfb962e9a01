import type { Problem } from '../errors.js';
import type { Condition, JourneyDefinition, Ruleset } from './schema.js';

/** The least waiting a journey's loop must do per message it sends. */
export const MIN_MINUTES_PER_LOOPED_SEND = 60;

/**
 * Loops a journey must not have to be published (validation, publish, a ruleset file at start),
 * beyond what `loadRuleset` refuses (a loop through sends and branches alone). A version stored
 * before these checks still loads: this is governance, not what a ruleset must be to run.
 *
 * - A loop through a `waitUntil` and steps that never wait: the time is past the second time
 *   round, and the engine spins to its step guard.
 * - A loop that sends more often than once per `MIN_MINUTES_PER_LOOPED_SEND` of the journey's own
 *   waits (send → wait 1 minute → branch back messaged a contact every minute for as long as it
 *   ran). Counted per send: four sends 20 minutes apart are a message every 20 minutes, whatever
 *   the round takes. Not counted: a way round through an event the contact or the CRM has to give
 *   (a reply), and a loop through a branch that counts (`journey.sends` or `journey.stepsDone`):
 *   its author bounded it. A receipt event (`message.*`) can follow a send by seconds: it counts
 *   as no wait.
 */
export function journeyLoopProblems(rs: Ruleset): Problem[] {
  const out: Problem[] = [];
  rs.journeys.forEach((j, i) => {
    const found = loopOf(j);
    if (found !== null) out.push({ path: `/journeys/${i}/steps/${found.at}`, message: found.message });
  });
  return out;
}

type Edge = { to: number; minutes: number };

function loopOf(j: JourneyDefinition): { at: number; message: string } | null {
  const ids = new Map(j.steps.map((s, k) => [s.id, k]));
  const edges = j.steps.map((s, k): Edge[] => {
    const after = k + 1 < j.steps.length ? k + 1 : undefined;
    const to = (target: number | undefined, minutes: number): Edge[] => (target === undefined ? [] : [{ to: target, minutes }]);
    switch (s.type) {
      case 'send':
      case 'waitUntil':
        return to(after, 0);
      case 'wait':
        return to(after, s.minutes);
      case 'waitFor': {
        const onTimeout = to(s.onTimeout !== undefined ? ids.get(s.onTimeout) : after, s.timeoutMinutes);
        const receipts = s.events
          .filter((e) => e.startsWith('message.'))
          .flatMap((e) => to(s.on[e] !== undefined ? ids.get(s.on[e] as string) : after, 0));
        return [...onTimeout, ...receipts];
      }
      case 'branch':
        return counts(s.conditions) ? [] : [...to(ids.get(s.then), 0), ...to(ids.get(s.else), 0)];
      default:
        return [];
    }
  });
  const sends = (k: number) => j.steps[k]?.type === 'send';
  const spin = cycle(j.steps.length, edges, () => -1, true);
  if (spin?.some((k) => j.steps[k]?.type === 'waitUntil'))
    return {
      at: spin[0] as number,
      message: `steps loop without waiting (a waitUntil waits only the first time round): ${names(j, spin)}`,
    };
  const fast = cycle(j.steps.length, edges, (e) => e.minutes - (sends(e.to) ? MIN_MINUTES_PER_LOOPED_SEND : 0), false);
  if (fast === null) return null;
  const minutes = fast.reduce((n, k, m) => {
    const next = fast[(m + 1) % fast.length] as number;
    return n + Math.min(...(edges[k] ?? []).filter((e) => e.to === next).map((e) => e.minutes));
  }, 0);
  const count = fast.filter(sends).length;
  const first = fast.findIndex(sends);
  const from = [...fast.slice(first), ...fast.slice(0, first)];
  return {
    at: from[0] as number,
    message: `steps loop sending ${count} message(s) per ${minutes} minute(s) of waiting: ${names(j, from)}; a loop must wait at least ${MIN_MINUTES_PER_LOOPED_SEND} minutes per message it sends (or count its rounds in a branch on journey.sends)`,
  };
}

/** Whether a branch's conditions count the journey's rounds (`journey.sends`, `journey.stepsDone`). */
function counts(c: Condition): boolean {
  if ('all' in c) return c.all.some(counts);
  if ('any' in c) return c.any.some(counts);
  if ('not' in c) return counts(c.not);
  return c.fact === 'journey' && (c.path === 'sends' || c.path === 'stepsDone');
}

const names = (j: JourneyDefinition, loop: number[]) => [...loop, loop[0] as number].map((k) => j.steps[k]?.id).join(' → ');

/**
 * A cycle of negative total weight (Bellman–Ford from every node at once), its nodes in order; null
 * when there is none. `zeroOnly`: only edges of weight < 0 are followed (a cycle of instant steps).
 */
function cycle(n: number, edges: Edge[][], weight: (e: Edge) => number, zeroOnly: boolean): number[] | null {
  const dist = new Array<number>(n).fill(0);
  const via = new Array<number>(n).fill(-1);
  let changed = -1;
  for (let round = 0; round < n; round++) {
    changed = -1;
    for (let u = 0; u < n; u++)
      for (const e of edges[u] ?? []) {
        if (zeroOnly && e.minutes !== 0) continue;
        const w = weight(e);
        if ((dist[u] as number) + w < (dist[e.to] as number)) {
          dist[e.to] = (dist[u] as number) + w;
          via[e.to] = u;
          changed = e.to;
        }
      }
    if (changed < 0) return null;
  }
  // still improving after n rounds: walk back n steps to land on the cycle, then around it
  let x = changed;
  for (let k = 0; k < n; k++) x = via[x] as number;
  const loop = [x];
  for (let y = via[x] as number; y !== x; y = via[y] as number) loop.unshift(y);
  return loop;
}
