import { loadRuleset } from '@signalbox/engine';
import type { Logger } from '../logger.js';
import type { RulesHolder } from './rules-holder.js';
import { RULES_CHANNEL, type RulesRepository } from './rules-repository.js';

/** How often the active pointer is read anyway (a notification lost with its connection is caught by this). */
const POLL_MS = 2_000;

type Listen = (channel: string, onPayload: (payload: string | null) => void) => Promise<{ close(): Promise<void> }>;

/**
 * Keeps this instance's active ruleset the one the store says is active: a publish or rollback on
 * any instance notifies the others (PostgreSQL NOTIFY, heard within milliseconds), and the active
 * pointer is read every 2 s besides. The version active when the watcher starts is the baseline (a
 * ruleset file named at start keeps winning until someone publishes).
 */
export class RulesWatcher {
  private seen: number | null = null;
  private timer: NodeJS.Timeout | null = null;
  private listening: { close(): Promise<void> } | null = null;
  private running: Promise<void> | null = null;
  private again = false;

  constructor(
    private readonly d: {
      store: { rules: RulesRepository };
      holder: RulesHolder;
      log: Logger;
      listen: Listen | null;
      pollMs?: number;
    },
  ) {}

  /**
   * `schema`: the one whose notifications are ours, as the database names it (tests share a
   * database between schemas); without it, every notification on the channel is heard.
   */
  async start(schema?: string): Promise<void> {
    this.seen = this.d.holder.activeNumber ?? (await this.d.store.rules.pointer())?.number ?? null;
    if (this.d.listen !== null)
      this.listening = await this.d.listen(RULES_CHANNEL, (payload) => {
        // `schema:number`; null after a reconnect (look, whatever it was)
        if (payload !== null && schema !== undefined && !payload.startsWith(`${schema}:`)) return;
        void this.check();
      });
    this.timer = setInterval(() => void this.check(), this.d.pollMs ?? POLL_MS);
    this.timer.unref();
  }

  /** Reads the active pointer; a version other than the one seen becomes active here. One check at a time. */
  check(): Promise<void> {
    if (this.running !== null) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      do {
        this.again = false;
        try {
          const p = await this.d.store.rules.pointer();
          if (p === null || p.number === this.seen || p.number === this.d.holder.activeNumber) {
            if (p !== null) this.seen = p.number;
            continue;
          }
          const v = await this.d.store.rules.version(p.number);
          if (v === null) continue;
          this.d.holder.activate(loadRuleset(v.document), v.number);
          this.seen = v.number;
          this.d.log.info({ version: v.number, label: v.label }, 'ruleset published elsewhere is active here');
        } catch (err) {
          this.d.log.warn({ err: (err as Error).message }, 'could not read the active ruleset; tried again shortly');
        }
      } while (this.again);
    })().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  async stop(): Promise<void> {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    await this.listening?.close();
    this.listening = null;
    await this.running;
  }
}
