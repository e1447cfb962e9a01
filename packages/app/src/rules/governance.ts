import { createHash } from 'node:crypto';
import { type CompiledRuleset, loadRuleset, RulesetInvalidError, validateRuleset } from '@signalbox/engine';
import type { AuditLog } from '../audit/audit-log.js';
import { canonicalJson } from '../canonical-json.js';
import type { Clock } from '../clock.js';
import { loadRulesetChecked, validateRulesetChecked } from '../content/template-check.js';
import { ConflictError, NotFoundError } from '../errors.js';
import { uuidv7 } from '../ids.js';
import type { Draft, DraftRepository } from './draft-repository.js';
import type { DryRunRepository } from './dry-run-repository.js';
import { providerProblems } from './provider-check.js';
import type { RulesHolder } from './rules-holder.js';
import type { RulesRepository, StoredVersion } from './rules-repository.js';
import { diffRulesets, type RulesetDiff } from './ruleset-diff.js';

/** What governance needs of the store (the Store fits). */
export interface GovernanceStore {
  rules: RulesRepository;
  drafts: DraftRepository;
  dryRuns: DryRunRepository;
  audit: AuditLog;
  transaction<T>(fn: (tx: this) => Promise<T>): Promise<T>;
}

export const hashOf = (document: unknown): string => createHash('sha256').update(canonicalJson(document)).digest('hex');

/** Whether a stored document is the same ruleset as a compiled one (as the engine reads both: defaults filled in). */
function sameRuleset(document: unknown, compiled: CompiledRuleset): boolean {
  const v = validateRuleset(document);
  return v.ok && canonicalJson(v.ruleset) === canonicalJson(compiled.source);
}

/** A publish based on a version that is no longer the active one: 409 with what changed since. */
export class StalePublishError extends ConflictError {
  constructor(
    readonly basedOn: number,
    readonly current: number,
    readonly diff: RulesetDiff,
  ) {
    super('RULES_VERSION_STALE', `the publish is based on version ${basedOn}, but version ${current} is active now`, [
      { path: '/basedOn', message: `version ${current} is active now: review its changes, then publish based on it` },
    ]);
  }
}

export interface PublishInput {
  document: unknown;
  reason: string;
  /** The version the change was based on; null only for the legacy `PUT /api/v1/rules` (no check). */
  basedOn: number | null;
  actor: string;
  dryRunId?: string | null;
}

/**
 * Rules as versioned documents: drafts stored without activating them, publish (validated, with
 * a reason, based on the version it changes: a stale base is refused with the diff), rollback to
 * any earlier version, every move audited. The active pointer moves in the same transaction as the
 * audit line; the process's ruleset (and the worker thread's copy) swaps after the commit.
 */
export class RulesGovernance {
  /** `providers`: the names this deployment sends through; a channel naming another is a problem (none checked without it). */
  constructor(
    private readonly holder: RulesHolder,
    private readonly clock: Clock,
    private readonly providers?: ReadonlySet<string>,
  ) {}

  /** Every problem a document has (schema, content, this deployment's providers): what a draft keeps and validate answers. */
  validate(document: unknown): ReturnType<typeof validateRuleset> {
    const v = validateRulesetChecked(document);
    if (!v.ok) return v;
    const problems = providerProblems(v.ruleset, this.providers);
    return problems.length > 0 ? { ok: false, problems } : v;
  }

  /**
   * The document compiled, or RulesetInvalidError with every problem (422): what may go live here,
   * and so what a draft or a posted document must be to be dry-run or simulated.
   */
  compile(document: unknown): CompiledRuleset {
    const compiled = loadRulesetChecked(document);
    const problems = providerProblems(compiled.source, this.providers);
    if (problems.length > 0) throw new RulesetInvalidError(problems);
    return compiled;
  }

  private now(): number {
    return this.clock.now().getTime();
  }

  /**
   * The active version; the first time, the ruleset this process started with becomes version 1
   * (so there is always something to diff against and roll back to).
   */
  async active(store: GovernanceStore): Promise<StoredVersion> {
    const found = await store.rules.activeVersion();
    if (found !== null) return found;
    return store.transaction(async (tx) => {
      // others asking at the same moment wait here, then find the version the first one made
      await tx.rules.lockFirstVersion();
      const again = await tx.rules.activeVersion();
      if (again !== null) return again;
      const rs = this.holder.get();
      const now = this.now();
      const number = await tx.rules.append(
        {
          label: rs.version,
          document: rs.source,
          hash: hashOf(rs.source),
          author: 'system',
          reason: 'the ruleset Signalbox started with',
          basedOn: null,
          dryRunId: null,
        },
        now,
      );
      // two instances starting at once: whichever moved the pointer first wins, the other reads it
      if (!(await tx.rules.moveActive(null, number, 'system', now))) throw new ConflictError('RULES_BUSY', 'try again');
      await tx.audit.record('system', 'rules.bootstrap', rs.version, { number }, now);
      const v = await tx.rules.version(number);
      if (v === null) throw new Error('version vanished');
      return v;
    });
  }

  /** A stored version; 404 naming `path`, where the caller's input named it, when there is none. */
  async version(store: GovernanceStore, n: number, path: string): Promise<StoredVersion> {
    await this.active(store);
    const v = await store.rules.version(n);
    if (v === null) throw new NotFoundError('RULES_VERSION_NOT_FOUND', `no ruleset version ${n}`, [{ path, message: 'no such version' }]);
    return v;
  }

  /** Stores a candidate (valid or not: its problems are kept and returned); never activates it. */
  async saveDraft(store: GovernanceStore, document: unknown, actor: string): Promise<Draft> {
    const v = this.validate(document);
    const label = typeof (document as { version?: unknown })?.version === 'string' ? (document as { version: string }).version : null;
    const now = this.now();
    const draft: Draft = {
      id: uuidv7(now),
      label,
      document,
      hash: hashOf(document),
      valid: v.ok,
      problems: v.ok ? [] : v.problems,
      author: actor,
      createdAt: now,
    };
    await store.transaction(async (tx) => {
      await tx.drafts.save(draft);
      await tx.audit.record(actor, 'rules.draft', label ?? draft.id, { draftId: draft.id, valid: v.ok, hash: draft.hash }, now);
    });
    return draft;
  }

  async draft(store: GovernanceStore, id: string, path = '/draftId'): Promise<Draft> {
    const d = await store.drafts.get(id);
    if (d === null) throw new NotFoundError('RULES_DRAFT_NOT_FOUND', `no draft ${id}`, [{ path, message: 'no such draft' }]);
    return d;
  }

  /** Validates, stores a new version and makes it active; refused (409) when `basedOn` is not the active version. */
  async publish(store: GovernanceStore, p: PublishInput): Promise<{ version: StoredVersion; compiled: CompiledRuleset }> {
    // a document that does not validate is never stored as a version (422 with every problem)
    const compiled = this.compile(p.document);
    const hash = hashOf(p.document);
    // the dry run looked at is kept with the version: whether it ran on this very document too
    let dryRun: { id: string; matches: boolean } | null = null;
    if (p.dryRunId != null) {
      const r = await store.dryRuns.get(p.dryRunId);
      if (r === null)
        throw new NotFoundError('DRY_RUN_NOT_FOUND', `no dry run ${p.dryRunId}`, [{ path: '/dryRunId', message: 'no such dry run' }]);
      dryRun = { id: r.id, matches: r.candidateHash === hash && r.status === 'done' };
    }
    await this.active(store);
    const now = this.now();
    const version = await store.transaction(async (tx) => {
      const current = await tx.rules.pointer(true);
      const currentNumber = current?.number ?? null;
      if (p.basedOn !== null && currentNumber !== null && p.basedOn !== currentNumber) {
        throw await this.stale(tx, p.basedOn, currentNumber);
      }
      // decisions record the label they were made under: another ruleset under a label already
      // published would make two rulesets one name (the same ruleset again, defaults written out
      // or not, is the same version)
      const other = (await tx.rules.underLabel(compiled.version)).find((v) => v.hash !== hash && !sameRuleset(v.document, compiled));
      if (other !== undefined)
        throw new ConflictError(
          'RULES_LABEL_TAKEN',
          `version ${other.number} is published as "${compiled.version}": give this one a label of its own`,
          [{ path: '/version', message: `"${compiled.version}" names version ${other.number}` }],
        );
      const number = await tx.rules.append(
        {
          label: compiled.version,
          document: p.document,
          hash,
          author: p.actor,
          reason: p.reason,
          basedOn: currentNumber,
          dryRunId: p.dryRunId ?? null,
        },
        now,
      );
      // conditional on the pointer still being where it was read: of two concurrent publishes one wins
      if (!(await tx.rules.moveActive(currentNumber, number, p.actor, now))) {
        const moved = (await tx.rules.pointer())?.number ?? number;
        throw await this.stale(tx, p.basedOn ?? currentNumber ?? moved, moved);
      }
      await tx.audit.record(
        p.actor,
        'rules.publish',
        compiled.version,
        { number, previous: currentNumber, reason: p.reason, hash, dryRun },
        now,
      );
      await tx.rules.notifyMoved(number);
      const v = await tx.rules.version(number);
      if (v === null) throw new Error('version vanished');
      return v;
    });
    this.holder.activate(compiled, version.number);
    return { version, compiled };
  }

  /** Makes an earlier (or any) version the active one again; audited with the reason. */
  async rollback(
    store: GovernanceStore,
    r: { to: number; reason: string; actor: string; basedOn?: number | undefined },
  ): Promise<{ version: StoredVersion; previous: number }> {
    const target = await this.version(store, r.to, '/to');
    let compiled: CompiledRuleset;
    try {
      compiled = loadRuleset(target.document);
    } catch (e) {
      // a version valid when published but not under today's engine cannot go live again
      if (e instanceof RulesetInvalidError)
        throw new ConflictError('RULES_VERSION_UNLOADABLE', `version ${r.to} no longer validates`, e.problems);
      throw e;
    }
    // nor one whose channels name a provider this deployment no longer has (every send would fail)
    const missing = providerProblems(compiled.source, this.providers);
    if (missing.length > 0)
      throw new ConflictError('RULES_VERSION_UNLOADABLE', `version ${r.to} names a provider this deployment does not have`, missing);
    const now = this.now();
    const previous = await store.transaction(async (tx) => {
      const current = (await tx.rules.pointer(true))?.number ?? null;
      if (current === null) throw new Error('no active version');
      if (r.basedOn !== undefined && r.basedOn !== current) throw await this.stale(tx, r.basedOn, current);
      if (current === r.to)
        throw new ConflictError('RULES_VERSION_ACTIVE', `version ${r.to} is already active`, [{ path: '/to', message: 'already active' }]);
      if (!(await tx.rules.moveActive(current, r.to, r.actor, now)))
        throw await this.stale(tx, current, (await tx.rules.pointer())?.number ?? current);
      await tx.audit.record(r.actor, 'rules.rollback', target.label, { from: current, to: r.to, reason: r.reason }, now);
      await tx.rules.notifyMoved(r.to);
      return current;
    });
    this.holder.activate(compiled, r.to);
    return { version: target, previous };
  }

  /** The structural diff between two documents. */
  diff(from: unknown, to: unknown): RulesetDiff {
    return diffRulesets(from, to);
  }

  private async stale(store: GovernanceStore, basedOn: number, current: number): Promise<StalePublishError> {
    const [a, b] = await Promise.all([store.rules.version(basedOn), store.rules.version(current)]);
    return new StalePublishError(basedOn, current, diffRulesets(a?.document ?? {}, b?.document ?? {}));
  }
}
