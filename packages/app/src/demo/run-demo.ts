import type { DemoCall } from './demo-stories.js';

/** How the demo reaches the app: its address and an admin key. */
export interface DemoTarget {
  url: string;
  key: string;
  fetch?: typeof fetch;
}

export class DemoError extends Error {}

/** What the demo did. */
export interface DemoSummary {
  contacts: number;
  consent: number;
  events: number;
  messages: number;
}

/** Makes the demo's calls on a running app, in order; stops at the first one refused. */
export async function runDemo(target: DemoTarget, calls: readonly DemoCall[]): Promise<DemoSummary> {
  const f = target.fetch ?? fetch;
  const send = async (path: string, body: unknown, headers: Record<string, string> = {}) => {
    let r: Response;
    try {
      r = await f(`${target.url}${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${target.key}`, 'content-type': 'application/json', ...headers },
        body: JSON.stringify(body),
      });
    } catch (e) {
      throw new DemoError(
        `Signalbox does not answer at ${target.url} (${(e as Error).message}): start it with pnpm start, then run pnpm demo`,
      );
    }
    const answer = (await r.json().catch(() => null)) as {
      detail?: string;
      title?: string;
      imported?: number;
      accepted?: number;
      results?: Array<{ index: number; contactId?: string; created?: boolean }>;
    } | null;
    if (!r.ok) throw new DemoError(`POST ${path} was refused (${r.status}): ${answer?.detail ?? answer?.title ?? 'no detail'}`);
    return answer;
  };
  const summary: DemoSummary = { contacts: 0, consent: 0, events: 0, messages: 0 };
  for (const c of calls) {
    if (c.kind === 'import') {
      const imported = await send('/api/v1/contacts/import', c.body);
      summary.contacts += imported?.imported ?? 0;
      // consent of the contacts this run created (a second run appends nothing to the ledger)
      for (const r of imported?.results ?? []) {
        if (r.created !== true || r.contactId === undefined) continue;
        for (const record of c.consent[r.index] ?? []) {
          await send(`/api/v1/contacts/${encodeURIComponent(r.contactId)}/consent`, record);
          summary.consent++;
        }
      }
    } else if (c.kind === 'event') summary.events += (await send('/api/v1/events', c.body))?.accepted ?? 0;
    else {
      await send('/api/v1/messages', c.body, { 'idempotency-key': c.key });
      summary.messages++;
    }
  }
  return summary;
}
