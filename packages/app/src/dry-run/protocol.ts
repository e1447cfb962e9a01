import type { MessageRequest, Ruleset } from '@signalbox/engine';
import type { SnapshotPage } from '../contacts/contact-snapshots.js';
import type { DatabaseLocation } from '../db/connection.js';
import type { ReplayItem } from './evaluate.js';
import type { ImpactData } from './impact.js';

/** What a dry run decides over: every stored contact × message requests at one moment, or past requests replayed. */
export type DryRunSample = { kind: 'contacts'; at: number; requests: MessageRequest[] } | { kind: 'requests'; from: number; to: number };

/** The dry run's own thread: its own connection, both rulesets as documents, the sample. */
export interface DryRunThreadData {
  database: DatabaseLocation;
  baseline: Ruleset;
  candidate: Ruleset;
  sample: DryRunSample;
  pageSize: number;
  /** Threads deciding besides the reading one (0: the reading thread decides alone). */
  helpers: number;
}

export type FromDryRun =
  | { type: 'progress'; done: number; total: number }
  | { type: 'done'; impact: ImpactData; total: number }
  | { type: 'failed'; message: string };

/** A helper thread decides pages the reading thread hands it. */
export interface HelperData {
  baseline: Ruleset;
  candidate: Ruleset;
  sample: DryRunSample;
}
export type ToHelper = { type: 'page'; page: SnapshotPage; items?: ReplayItem[] } | { type: 'finish' };
export type FromHelper = { type: 'paged'; contacts: number } | { type: 'impact'; impact: ImpactData } | { type: 'failed'; message: string };
