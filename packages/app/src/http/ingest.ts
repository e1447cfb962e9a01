import type { IncomingMessage } from 'node:http';
import type { Role } from '../config.js';
import { NotFoundError } from '../errors.js';
import type { InboxWriter } from '../inbox/inbox-writer.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics/metrics.js';
import { currentTraceparent, inSpan } from '../tracing/tracing.js';
import type { Principal } from './auth.js';
import { type FastPath, header, plainJson, takeBody } from './fast-path.js';
import { parseJsonBody } from './json-body.js';
import type { RouteSpec } from './route-table.js';
import { assertIdentities, assertKnownZones, eventsBody, zoneOf } from './routes/schemas.js';
import { parseBody } from './validate.js';

export const INGEST_PATH = '/api/v1/events';
/** Who may post events (the Express route's key check takes the same list). */
export const INGEST_ROLES: readonly Role[] = ['admin', 'integration'];

/**
 * POST /api/v1/events: every event a CRM workflow or integration fires. Express costs several
 * times the work of the endpoint itself here (measured: the same durable write answered 2,000
 * req/s through Express, 8,400 without), so the common case is served straight from Node's
 * request: key checked from the headers before the body is read, the body read up to its declared
 * length, parsed, validated with the same schema, durable in the inbox (group commit) before the
 * 202. Anything else (no or a bad key, another content type or encoding, no Content-Length or one
 * over the limit, a query string) is answered by the Express route from the same implementation.
 */
export function createIngest(d: {
  inbox: InboxWriter;
  metrics: Metrics;
  now: () => number;
  /** The key check the API uses (auth.ts): the principal for these headers, if any. */
  principal: (header: (name: string) => string | undefined) => Principal | null | undefined;
  /** Whether the request's address is being refused keys: the fast path then leaves it to the route's key check (429). */
  keysRefused?: (req: IncomingMessage) => boolean;
  bodyLimit: number;
  onWork: () => void;
  log: Logger;
}): { fast: FastPath; route: RouteSpec } {
  /**
   * An event naming its contact by id names one we have: otherwise it could only ever become a dead
   * letter, where the caller (as for a message) should hear of it at once. The batch is refused
   * whole, with the path of each event at fault, as for any other invalid event. The check is made
   * by the write itself (`Store.acceptChecked`: one statement with the insert on PostgreSQL).
   */
  function contactsNotFound(named: ReadonlyArray<{ id: string; path: string }>, missing: readonly string[]): NotFoundError {
    const gone = new Set(missing);
    const atFault = named.filter((n) => gone.has(n.id));
    return new NotFoundError(
      'CONTACT_NOT_FOUND',
      atFault.length === 1 ? `contact ${atFault[0]?.id} not found` : `${atFault.length} contacts not found`,
      atFault.map((n) => ({ path: n.path, message: 'no such contact' })),
    );
  }

  async function accept(body: unknown): Promise<{ accepted: number; duplicates: number }> {
    const t0 = performance.now();
    const parsed = parseBody(eventsBody, body);
    const list = Array.isArray(parsed) ? parsed : [parsed];
    const at = (i: number) => (Array.isArray(parsed) ? `/${i}` : '');
    assertIdentities(list.map((e, i) => ({ ref: e.contact, path: `${at(i)}/contact` })));
    assertKnownZones(list.map((e, i) => ({ zone: zoneOf(e.contact), path: `${at(i)}/contact/timezone` })));
    const named = list.flatMap((e, i) => ('id' in e.contact ? [{ id: e.contact.id, path: `${at(i)}/contact/id` }] : []));
    // the accepting span's context is kept with each row: the event's trace goes on from there
    const batch = await inSpan('inbox.accept', undefined, { 'signalbox.events': list.length }, () => {
      const trace = currentTraceparent();
      return d.inbox.acceptNaming(
        list.map((e) => ({ source: 'api', eventId: e.id, type: e.type, payload: { ...e, source: 'api' }, trace })),
        d.now(),
        named.map((n) => n.id),
      );
    });
    if (batch.missing.length > 0) throw contactsNotFound(named, batch.missing);
    d.metrics.eventsIngested.inc({ source: 'api', duplicate: 'false' }, batch.accepted);
    d.metrics.eventsIngested.inc({ source: 'api', duplicate: 'true' }, batch.duplicates);
    d.metrics.ingestLatency.observe((performance.now() - t0) / 1000);
    d.onWork();
    return { accepted: batch.accepted, duplicates: batch.duplicates };
  }

  return {
    fast: {
      take(req, res) {
        if (req.method !== 'POST' || req.url !== INGEST_PATH || !plainJson(req, d.bodyLimit)) return false;
        // a refused address goes to the checked route before its key is compared (429 there)
        if (d.keysRefused?.(req) === true) return false;
        const who = d.principal((name) => header(req, name));
        if (who === null || who === undefined || !INGEST_ROLES.includes(who.role)) return false;
        takeBody(req, res, { limit: d.bodyLimit, route: INGEST_PATH, metrics: d.metrics, log: d.log }, async (raw) => ({
          status: 202,
          body: await accept(parseJsonBody(raw)),
        }));
        return true;
      },
    },
    route: {
      method: 'post',
      path: INGEST_PATH,
      summary: 'One event or up to 100: durable in the inbox before the 202; duplicates (same id) acknowledged and ignored',
      tags: ['events'],
      security: 'apiKey',
      roles: INGEST_ROLES,
      body: eventsBody,
      responses: {
        202: '{accepted, duplicates}',
        404: 'CONTACT_NOT_FOUND: an event names a contact id that is not stored (the batch is refused whole)',
      },
      handler: async (req, res) => {
        res.status(202).json(await accept(req.body));
      },
    },
  };
}
