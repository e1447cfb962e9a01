import type pg from 'pg';

/**
 * A statement's answer has a deadline. A database that stops answering without closing the
 * connection (a network partition, a hung server or failover) would otherwise hold every request
 * and every worker round on it for as long as TCP takes to give up (many minutes). Past the
 * deadline the statement fails and its connection is destroyed, so the pool opens a new one and
 * nothing waits behind a statement whose answer may never come.
 *
 * Maintenance statements that may rightly take long (VACUUM, ANALYZE, index builds) have none;
 * `deadline.ms` 0 means none at all (migrations run before it is set).
 */
const MAINTENANCE = /^\s*(vacuum|analyze|create\s+(unique\s+)?index|reindex|cluster)\b/i;

export interface Deadline {
  ms: number;
}

export function withDeadline(Base: typeof pg.Client, deadline: Deadline): typeof pg.Client {
  return class DeadlineClient extends Base {
    // biome-ignore lint/suspicious/noExplicitAny: pg.Client's constructor takes its config as it is
    constructor(config?: any) {
      super(config);
      // a connection lost while a statement is under way fails that statement, and the pool hears it
      // while idle; an 'error' event with no listener while checked out would end the process
      this.on('error', () => undefined);
    }

    // biome-ignore lint/suspicious/noExplicitAny: pg's query() is overloaded many ways; only its promise form gets a deadline
    override query(config: any, values?: any, callback?: any): any {
      const answer: unknown = super.query(config, values, callback);
      const ms = deadline.ms;
      if (ms <= 0 || !(answer instanceof Promise)) return answer;
      const text: unknown = typeof config === 'string' ? config : config?.text;
      if (typeof text === 'string' && MAINTENANCE.test(text)) return answer;
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<never>((_resolve, reject) => {
        timer = setTimeout(() => {
          // the connection may still deliver that answer later: it is not used again. end() marks it
          // ending at once (the pool then drops it when it comes back) and, with a statement under
          // way, destroys its socket rather than waiting to say goodbye
          this.end().catch(() => undefined);
          reject(new Error(`Query read timeout: no answer from the database in ${ms} ms`));
        }, ms);
      });
      return Promise.race([answer, late]).finally(() => clearTimeout(timer));
    }
  } as typeof pg.Client;
}
