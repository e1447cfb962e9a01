import type { CompiledRuleset, ConsentRecord } from '@signalbox/engine';
import { isValidTimeZone } from '@signalbox/engine';
import type { Request } from 'express';
import { z } from 'zod';
import { IdentityConflictError, IdentityError } from '../../contacts/identity.js';
import { AppError, InputError, NotFoundError } from '../../errors.js';
import type { Runtime } from '../../runtime.js';
import type { RouteSpec } from '../route-table.js';
import { parseBody } from '../validate.js';
import { assertKnownZones, consentBody, contactUpsert } from './schemas.js';

const DAY = 86_400_000;
/** How far ahead of this server's clock a consent time may be (the caller's clock may run a little fast). */
const FUTURE_SKEW_MS = 5 * 60_000;
const importBody = z.array(contactUpsert).min(1).max(1000);

/** Contacts: upsert and import by any identity; the story, consent ledger and decisions of one. */
export function contactRoutes(runtime: Runtime, now: () => number, ruleset: () => CompiledRuleset): RouteSpec[] {
  const store = runtime.store;
  const contactOr404 = async (req: Request) => {
    const c = await store.contacts.get(String(req.params.id));
    if (c === null) throw new NotFoundError('CONTACT_NOT_FOUND', 'no such contact');
    return c;
  };
  return [
    {
      method: 'post',
      path: '/api/v1/contacts',
      summary:
        'Create or update a contact found by any identity (E.164 phones, lower-cased emails, CRM ids); merges and conflicts are recorded',
      tags: ['contacts'],
      security: 'apiKey',
      roles: ['admin', 'integration'],
      body: contactUpsert,
      responses: {
        200: "updated: {contact, created, merged, conflicts} (an integration key gets the contact's id only: {contact: {id}, …})",
        201: 'created',
        409: 'IDENTITY_CONFLICT: every identity given belongs to another contact whose identities differ (each at its path); nothing is stored',
      },
      handler: async (req, res) => {
        const body = parseBody(contactUpsert, req.body);
        assertKnownZones([{ zone: body.timezone, path: '/timezone' }]);
        const result = await store.contacts.upsert(body, now(), undefined, { refuseUnfindable: true });
        // an integration key may write contacts but not read them (GET /contacts is 403): knowing
        // one phone number must not return the contact's other identities and attributes
        const answer =
          req.principal?.role === 'integration'
            ? { contact: { id: result.contact.id }, created: result.created, merged: result.merged, conflicts: result.conflicts }
            : result;
        res.status(result.created ? 201 : 200).json(answer);
      },
    },
    {
      method: 'post',
      path: '/api/v1/contacts/import',
      summary: 'Upsert up to 1,000 contacts; each succeeds or fails on its own',
      tags: ['contacts'],
      security: 'apiKey',
      roles: ['admin', 'integration'],
      body: importBody,
      responses: { 200: '{imported, failed, results}' },
      handler: async (req, res) => {
        const body = parseBody(importBody, req.body);
        const results: Array<{
          index: number;
          contactId?: string;
          created?: boolean;
          conflicts?: number;
          error?: { code: string; path: string; message: string; paths?: string[] };
        }> = [];
        for (const [index, c] of body.entries()) {
          // each item on its own: one with a zone that is not IANA's is refused, the others stored
          if (c.timezone !== undefined && !isValidTimeZone(c.timezone)) {
            results.push({
              index,
              error: { code: 'TIMEZONE_UNKNOWN', path: `/${index}/timezone`, message: `"${c.timezone}" is not an IANA time zone` },
            });
            continue;
          }
          try {
            const r = await store.contacts.upsert(c, now(), undefined, { refuseUnfindable: true });
            results.push({ index, contactId: r.contact.id, created: r.created, conflicts: r.conflicts.length });
          } catch (e) {
            if (e instanceof IdentityError)
              results.push({ index, error: { code: e.code, path: `/${index}${e.path}`, message: e.message } });
            else if (e instanceof IdentityConflictError) {
              const paths = e.at(`/${index}`).problems.map((p) => p.path);
              results.push({ index, error: { code: e.code, path: paths[0] ?? `/${index}/identities`, message: e.message, paths } });
            } else throw e;
          }
        }
        res.json({
          imported: results.filter((x) => x.error === undefined).length,
          failed: results.filter((x) => x.error !== undefined).length,
          results,
        });
      },
    },
    {
      method: 'get',
      path: '/api/v1/contacts/:id',
      summary:
        'A contact: timeline of messages and events (with what the contact wrote), what was sent per attempt, journeys, consent ledger, identity conflicts',
      tags: ['contacts'],
      security: 'apiKey',
      roles: ['admin', 'agent'],
      responses: { 200: '{contact, timeline, sent, journeys, consent, conflicts}' },
      handler: async (req, res) => {
        const contact = await contactOr404(req);
        const [messages, events, journeys, conflicts, consent, attempts] = await Promise.all([
          store.messages.forContact(contact.id, 50),
          store.contactEvents.since(contact.id, now() - 365 * DAY),
          store.journeys.forContact(contact.id),
          store.contacts.conflicts(contact.id),
          store.consent.of(contact.id),
          store.attempts.forContact(contact.id, 50),
        ]);
        const timeline = [
          ...messages.map((m) => ({
            at: new Date(m.createdAt).toISOString(),
            kind: 'message' as const,
            id: m.id,
            type: m.type,
            status: m.status,
            channel: m.channel,
            team: m.team,
            journey: m.journeyId,
          })),
          ...events.map((e) => ({ at: e.at, kind: 'event' as const, type: e.type, object: e.object ?? null, data: e.data })),
        ].sort((a, b) => (a.at < b.at ? 1 : -1));
        // what was sent, attempt by attempt: rendered content, provider and its message id, segments, cost
        const sent = attempts.map((a) => ({
          at: new Date(a.updatedAt).toISOString(),
          messageId: a.messageId,
          step: a.step,
          channel: a.channel,
          provider: a.provider,
          providerMessageId: a.providerMessageId,
          status: a.status,
          content: a.content,
          language: a.language,
          encoding: a.encoding,
          segments: a.segments,
          cost: a.cost,
          error: a.error,
        }));
        res.json({
          contact,
          timeline,
          sent,
          journeys: journeys.map((j) => ({ id: j.id, journeyId: j.journeyId, status: j.status })),
          consent,
          conflicts,
        });
      },
    },
    {
      method: 'get',
      path: '/api/v1/contacts/:id/consent',
      summary: "A contact's consent ledger, in the order it happened",
      tags: ['contacts'],
      security: 'apiKey',
      roles: ['admin', 'agent'],
      responses: { 200: '{contactId, ledger}' },
      handler: async (req, res) => {
        const contact = await contactOr404(req);
        res.json({ contactId: contact.id, ledger: await store.consent.of(contact.id) });
      },
    },
    {
      method: 'post',
      path: '/api/v1/contacts/:id/consent',
      summary: 'Append a line to the consent ledger (an agent always records as agent); audited',
      tags: ['contacts'],
      security: 'apiKey',
      roles: ['admin', 'agent', 'integration'],
      body: consentBody,
      responses: { 201: '{contactId, record}' },
      handler: async (req, res) => {
        const contact = await contactOr404(req);
        const body = parseBody(consentBody, req.body);
        const role = req.principal?.role;
        // least privilege: an agent records as an agent; only admin and integration keys may speak for the CRM or an import
        if (role === 'agent' && body.source !== undefined && body.source !== 'agent')
          throw new AppError(403, 'ROLE_FORBIDDEN', `an agent key cannot record consent on behalf of source "${body.source}"`, [
            { path: '/source', message: 'agents record as agent' },
          ]);
        const source: ConsentRecord['source'] = role === 'agent' ? 'agent' : (body.source ?? 'api');
        // a channel the ruleset has (or `*`, every channel): consent for "carrier-pigeon" would be a typo kept forever
        const channels = Object.keys(ruleset().source.channels);
        if (body.channel !== '*' && !Object.hasOwn(ruleset().source.channels, body.channel))
          throw new InputError(`"${body.channel}" is not a channel of the active ruleset`, [
            { path: '/channel', message: `one of ${['*', ...channels].join(', ')}` },
          ]);
        // consent goes by the latest line: one dated ahead would outrank every later change, a STOP included
        if (body.at !== undefined && Date.parse(body.at) > now() + FUTURE_SKEW_MS)
          throw new InputError('consent cannot be recorded for a time still to come', [
            { path: '/at', message: 'must not be in the future' },
          ]);
        const record: ConsentRecord = {
          channel: body.channel,
          purpose: body.purpose,
          status: body.status,
          source,
          at: body.at ?? new Date(now()).toISOString(),
        };
        if (body.legalBasis !== undefined) record.legalBasis = body.legalBasis;
        if (body.evidence !== undefined) record.evidence = body.evidence;
        await store.transaction(async (tx) => {
          await tx.consent.append(contact.id, record, now());
          await tx.audit.record(
            `${role}:${req.principal?.name}`,
            'consent.write',
            contact.id,
            { channel: body.channel, purpose: body.purpose, status: body.status, source },
            now(),
          );
        });
        res.status(201).json({ contactId: contact.id, record });
      },
    },
    {
      method: 'get',
      path: '/api/v1/contacts/:id/decisions',
      summary: "A contact's latest decisions with their reasons",
      tags: ['contacts'],
      security: 'apiKey',
      roles: ['admin', 'agent'],
      responses: { 200: '{contactId, decisions}' },
      handler: async (req, res) => {
        const contact = await contactOr404(req);
        const messages = await store.messages.forContact(contact.id, 50);
        res.json({ contactId: contact.id, decisions: messages.map((m) => ({ messageId: m.id, status: m.status, decision: m.decision })) });
      },
    },
  ];
}
