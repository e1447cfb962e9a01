import type { LogEvent } from 'kysely';

/** What hears every statement a connection runs (tests read their query plans). */
export type OnQuery = (sql: string, parameters: readonly unknown[]) => void;

/** A Kysely `log` that hands each statement run (not its failures) to `onQuery`. */
export function onQueryLog(onQuery: OnQuery): (event: LogEvent) => void {
  return (event) => {
    if (event.level === 'query') onQuery(event.query.sql, event.query.parameters);
  };
}
