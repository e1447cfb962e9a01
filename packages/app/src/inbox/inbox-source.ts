import type { InboxEntry, InboxRow } from './inbox-repository.js';
import type { IncomingEvent } from './incoming-event.js';

/**
 * What a raw inbox event becomes once its source's step has run:
 * - `events`: events in our vocabulary, applied in one unit of work with the row;
 * - `split`: a batch (a CRM delivery) whose events go into the inbox as raw events of their own,
 *   so each succeeds or fails on its own;
 * - `ignore`: nothing to apply (an event the ruleset's event map does not name), with why.
 */
export type Prepared =
  | { kind: 'events'; events: IncomingEvent[] }
  | { kind: 'split'; entries: InboxEntry[] }
  | { kind: 'ignore'; note: string };

/**
 * A source whose events arrive raw (a CRM): its step maps them into our vocabulary and resolves
 * their contacts, calling the CRM if it must — never inside a transaction.
 */
export interface InboxSource {
  readonly source: string;
  prepare(row: InboxRow): Promise<Prepared>;
}

/** A failure that will not go away by retrying (an uninstalled portal, a declined scope): a dead letter at once. */
export class PermanentFailure extends Error {}
