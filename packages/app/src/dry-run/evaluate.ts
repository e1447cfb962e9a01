import {
  type CompiledRuleset,
  type ConsentRecord,
  type Contact,
  type DecisionContext,
  decideParsed,
  type IdentityKind,
  type MessageRequest,
  type PastEvent,
  trustedDecisionContext,
} from '@signalbox/engine';
import type { SnapshotPage } from '../contacts/contact-snapshots.js';
import { type EventReach, eventReachOf } from '../contacts/context.js';
import { claimedAtOf, type PressureRow, sentRecordOf } from '../messages/pressure-record.js';
import type { Impact } from './impact.js';

const DAY = 86_400_000;
/** As the runtime's decision context: the pressure budget's longest window is a week (8 days read). */
export const PRESSURE_DAYS = 8;

/** A message request made in the past, replayed at its original time. */
export interface ReplayItem {
  contactId: string;
  at: number;
  request: MessageRequest;
}

interface Rows {
  identities: Array<{ kind: IdentityKind; value: string }>;
  consent: Array<[number, ConsentRecord]>;
  history: Array<[number, PressureRow]>;
  events: Array<[number, PastEvent]>;
}

/** The page's rows grouped by contact (one pass over each table's rows). */
function group(page: SnapshotPage): Map<string, Rows> {
  const by = new Map<string, Rows>();
  const of = (id: string) => {
    let r = by.get(id);
    if (r === undefined) {
      r = { identities: [], consent: [], history: [], events: [] };
      by.set(id, r);
    }
    return r;
  };
  for (const [id, kind, value] of page.identities) of(id).identities.push({ kind: kind as IdentityKind, value });
  for (const [id, channel, purpose, status, source, at] of page.consent)
    of(id).consent.push([
      at,
      {
        channel,
        purpose: purpose as ConsentRecord['purpose'],
        status: status as ConsentRecord['status'],
        source: source as ConsentRecord['source'],
        at: new Date(at).toISOString(),
      },
    ]);
  for (const [id, type, team, channel, at, status, priority, claimedAt] of page.history)
    of(id).history.push([at, { type, team, channel, created_at: at, status, priority, claimed_at: claimedAt }]);
  for (const [id, type, at, objectType, objectId, data] of page.events) {
    const e: PastEvent = { type, at: new Date(at).toISOString(), data: JSON.parse(data) as Record<string, unknown> };
    if (objectType !== null && objectId !== null) e.object = { type: objectType, id: objectId };
    of(id).events.push([at, e]);
  }
  return by;
}

const NONE: Rows = { identities: [], consent: [], history: [], events: [] };

/**
 * A message as it stood at `at`: one whose first step was claimed later was still waiting to go
 * then (as the runtime reads it: see `sentRecordOf`), whatever it became since.
 */
function asOf(row: PressureRow, at: number): PressureRow {
  const claimedAt = claimedAtOf(row);
  return claimedAt !== null && claimedAt > at ? { ...row, status: 'queued', claimed_at: null } : row;
}

/** The decision context as the runtime builds it (`loadContext`), as of `at`; `reach` only where not `all`. */
function contextOf(id: string, data: string, rows: Rows, at: number, all: boolean, reach?: EventReach): DecisionContext {
  const contact = JSON.parse(data) as Contact;
  contact.id = id;
  contact.identities = rows.identities;
  if (all) {
    return trustedDecisionContext({
      contact,
      consent: rows.consent.map((x) => x[1]),
      history: rows.history.map((x) => sentRecordOf(asOf(x[1], at))),
      events: rows.events.map((x) => x[1]),
    });
  }
  // a replayed request sees only what had happened before it
  const since = at - PRESSURE_DAYS * DAY;
  const eventsSince = at - (reach?.days ?? 0) * DAY;
  const lasting = new Set(reach?.lasting);
  return trustedDecisionContext({
    contact,
    consent: rows.consent.filter((x) => x[0] <= at).map((x) => x[1]),
    history: rows.history.filter((x) => x[0] >= since && x[0] < at).map((x) => sentRecordOf(asOf(x[1], at))),
    events: rows.events.filter((x) => (x[0] >= eventsSince || lasting.has(x[1].type)) && x[0] < at).map((x) => x[1]),
  });
}

const market = (c: DecisionContext) => c.contact.market ?? '(none)';
const groupOf = (r: MessageRequest, c: DecisionContext) => ({
  team: r.team ?? '(none)',
  workflow: r.workflow ?? '(none)',
  messageType: r.type,
  market: market(c),
});

/** Every contact of the page × every request, at one moment: baseline and candidate decisions. */
export function evaluateContacts(
  page: SnapshotPage,
  requests: readonly MessageRequest[],
  at: number,
  baseline: CompiledRuleset,
  candidate: CompiledRuleset,
  impact: Impact,
): void {
  const rows = group(page);
  for (const [id, data] of page.contacts) {
    const ctx = contextOf(id, data, rows.get(id) ?? NONE, at, true);
    impact.contact();
    for (const r of requests) impact.add(groupOf(r, ctx), id, decideParsed(r, ctx, baseline, at), decideParsed(r, ctx, candidate, at));
  }
}

/** Requests made in the past, each decided again at its original time against what was known then. */
export function evaluateReplay(
  page: SnapshotPage,
  items: readonly ReplayItem[],
  baseline: CompiledRuleset,
  candidate: CompiledRuleset,
  impact: Impact,
): void {
  const rows = group(page);
  const reach = eventReachOf(baseline, candidate);
  const data = new Map(page.contacts);
  const seen = new Set<string>();
  for (const item of items) {
    const d = data.get(item.contactId);
    // a contact merged since: its requests are replayed on the contact it became
    if (d === undefined) continue;
    if (!seen.has(item.contactId)) {
      seen.add(item.contactId);
      impact.contact();
    }
    const ctx = contextOf(item.contactId, d, rows.get(item.contactId) ?? NONE, item.at, false, reach);
    impact.add(
      groupOf(item.request, ctx),
      item.contactId,
      decideParsed(item.request, ctx, baseline, item.at),
      decideParsed(item.request, ctx, candidate, item.at),
    );
  }
}
