/**
 * The Signalbox card as HubSpot renders it (`@hubspot/ui-extensions/testing`, `crm.record.tab`),
 * fed over real HTTP from fixtures of Signalbox's card routes through a `hubspot.fetch` that
 * behaves as HubSpot's (permitted URLs only, JSON bodies, the caller's context appended).
 */
import { readFileSync } from 'node:fs';
import { Alert, Button, EmptyState, LoadingSpinner, Select, StatusTag, TableRow } from '@hubspot/ui-extensions';
import { createRenderer, type RenderedNode } from '@hubspot/ui-extensions/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SignalboxCard } from './SignalboxCard.js';
import { type Answer, FixtureServer } from './testing/fixture-server.js';
import { hubspotFetch } from './testing/hubspot-host.js';

interface Story {
  summary: string;
  contact: { timezone: string; market: string; channels: string[] };
  timeline: Array<{ at: string; kind: string; title: string; cost?: number }>;
  consent: Array<{ channel: string; purposes: Record<string, string> }>;
  journeys: Array<{ journey: string }>;
  next: Array<{ at: string; kind: string }>;
  decisions: Array<{ type: string; outcome: string; status: string; reason: string; reasons: Array<{ message: string }> }>;
  budget: Array<{ cap: string; description: string; max: number; per: string; used: number; left: number }>;
}

const fixture = (name: string) => JSON.parse(readFileSync(new URL(`./fixtures/${name}.json`, import.meta.url), 'utf8')) as Answer;
const app = JSON.parse(readFileSync(new URL('../app-hsmeta.json', import.meta.url), 'utf8')) as {
  config: { permittedUrls: { fetch: string[] } };
};
const story = fixture('card-story').body as Story;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

let server: FixtureServer;
beforeEach(async () => {
  server = new FixtureServer();
  await server.start();
});
afterEach(() => server.stop());

function renderCard(objectId = '902') {
  const r = createRenderer('crm.record.tab');
  const host = hubspotFetch({
    permitted: app.config.permittedUrls.fetch,
    upstream: server.url,
    context: { portalId: 62515, userId: 7, userEmail: 'agent@example.com', appId: 54321 },
  });
  r.render(<SignalboxCard objectId={objectId} hubspotFetch={host} />);
  return r;
}

/** All the text under a node, as an agent reads it (a node's own `text` holds only its direct text). */
function deepText(node: RenderedNode): string {
  if (node.nodeType === 'text') return node.text;
  return node.childNodes.map((c) => deepText(c)).join(' ');
}
const text = (r: ReturnType<typeof createRenderer>) => deepText(r.getRootNode());

/** Polls until `check` passes (waitFor only re-checks when the rendered output changes). */
async function eventually(check: () => void, ms = 2000): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    try {
      check();
      return;
    } catch (e) {
      if (Date.now() > end) throw e;
      await new Promise((r) => setTimeout(r, 10));
    }
  }
}

async function loaded() {
  server.answer('GET', '/hubspot/card', fixture('card-story'));
  const r = renderCard();
  await r.waitFor(() => expect(text(r)).toContain(story.summary));
  return r;
}

describe('loading the story', () => {
  it('shows a spinner until Signalbox answers, then the story; asks for the record it sits on', async () => {
    let release: (a: Answer) => void = () => undefined;
    server.answer('GET', '/hubspot/card', new Promise<Answer>((resolve) => (release = resolve)));
    const r = renderCard();
    await eventually(() => expect(server.requests).toHaveLength(1));
    expect(r.maybeFind(LoadingSpinner)).not.toBeNull();
    expect(text(r)).not.toContain(story.summary);
    release(fixture('card-story'));
    await r.waitFor(() => expect(text(r)).toContain(story.summary));
    expect(r.maybeFind(LoadingSpinner)).toBeNull();
    const asked = server.requests[0];
    expect(asked?.query.get('objectId')).toBe('902');
    // HubSpot's proxy tells Signalbox who is looking, and where
    expect(asked?.query.get('portalId')).toBe('62515');
    expect(asked?.query.get('userId')).toBe('7');
  });

  it('a contact Signalbox does not know (404 CONTACT_NOT_FOUND) is said so, not reported as Signalbox being down', async () => {
    server.answer('GET', '/hubspot/card', fixture('card-contact-not-found'));
    const r = renderCard('424242');
    await r.waitFor(() => expect(r.maybeFind(EmptyState)).not.toBeNull());
    expect(r.find(EmptyState).props.title).toBe('Not in Signalbox yet');
    expect(text(r)).toContain('no HubSpot contact 424242 in portal 62515');
    expect(r.maybeFind(Alert)).toBeNull();
    expect(r.maybeFind(Button)).toBeNull();
  });

  it('Signalbox answering an error is shown as such, with what it said', async () => {
    server.answer('GET', '/hubspot/card', {
      status: 503,
      contentType: 'application/problem+json',
      body: { title: 'Service Unavailable', status: 503, code: 'UNAVAILABLE', detail: 'the database is restarting' },
    });
    const r = renderCard();
    await r.waitFor(() => expect(r.maybeFind(Alert)).not.toBeNull());
    expect(r.find(Alert).props).toMatchObject({ title: 'Signalbox is not reachable', variant: 'error' });
    expect(deepText(r.find(Alert))).toContain('the database is restarting');
  });
});

describe('the story', () => {
  it('who the contact is to Signalbox: time zone, market, the channels it can reach them on', async () => {
    const r = await loaded();
    expect(text(r)).toContain(story.contact.timezone);
    expect(text(r)).toContain(story.contact.market);
    expect(text(r)).toContain(story.contact.channels.join(', '));
  });

  it('the timeline: every message and event, messages with their cost', async () => {
    const r = await loaded();
    const rows = r.findAll(TableRow).filter((row) => String(row.props.testId).startsWith('timeline-row-'));
    expect(rows).toHaveLength(story.timeline.length);
    story.timeline.forEach((t, i) => {
      expect(deepText(rows[i] as RenderedNode)).toContain(t.title);
      expect(deepText(rows[i] as RenderedNode)).toContain(t.at.slice(0, 16).replace('T', ' '));
      if (t.kind === 'message') expect(deepText(rows[i] as RenderedNode)).toContain(String(t.cost));
    });
  });

  it('the consent grid: each channel, each purpose granted or revoked', async () => {
    const r = await loaded();
    const rows = r.findAll(TableRow).filter((row) => String(row.props.testId).startsWith('consent-row-'));
    expect(rows).toHaveLength(story.consent.length);
    for (const [i, c] of story.consent.entries()) {
      const tags = rows[i]?.findAll(StatusTag) ?? [];
      expect(deepText(rows[i] as RenderedNode)).toContain(c.channel);
      expect(tags.map((t) => t.text)).toEqual(Object.values(c.purposes));
      expect(tags.map((t) => t.props.variant)).toEqual(Object.values(c.purposes).map((s) => (s === 'granted' ? 'success' : 'danger')));
    }
  });

  it('journeys and the next sends', async () => {
    const r = await loaded();
    for (const j of story.journeys) expect(text(r)).toContain(j.journey);
    for (const n of story.next) expect(text(r)).toContain(`${n.kind} at ${n.at.slice(0, 16).replace('T', ' ')} UTC`);
  });

  it('the last decisions, each with its outcome, status, reason and the reasons behind it', async () => {
    const r = await loaded();
    const shown = r.findAll(StatusTag).filter((t) => String(t.props.testId).startsWith('decision-outcome-'));
    expect(shown.map((t) => t.text)).toEqual(story.decisions.map((d) => d.outcome));
    for (const d of story.decisions) {
      expect(text(r)).toContain(d.reason);
      for (const reason of d.reasons) expect(text(r)).toContain(reason.message);
    }
    expect(shown.map((t) => t.props.variant)).toEqual(story.decisions.map((d) => (d.outcome === 'suppress' ? 'danger' : 'success')));
  });

  it('the contact-pressure budget: used, left, and what each cap is for', async () => {
    const r = await loaded();
    for (const b of story.budget) {
      expect(text(r)).toContain(`${b.cap}: ${b.used} of ${b.max} used this ${b.per}, ${b.left} left`);
      expect(text(r)).toContain(b.description);
    }
  });
});

describe('sending from the card', () => {
  async function send(messageType: string, answer: Answer) {
    const r = await loaded();
    server.answer('POST', '/hubspot/card/send', answer);
    r.find(Select).trigger('onChange', messageType as never);
    r.find(Button).trigger('onClick');
    await eventually(() => expect(server.requests.filter((q) => q.method === 'GET')).toHaveLength(2));
    await r.waitFor(() => expect(r.maybeFind(Alert)).not.toBeNull());
    const sent = server.requests.find((q) => q.method === 'POST');
    expect(sent?.body).toEqual({ objectId: '902', messageType, idempotencyKey: expect.stringMatching(UUID) });
    expect(sent?.query.get('userId')).toBe('7');
    return r;
  }

  it('a refusal is shown as not sent, with its reason and every reason behind it', async () => {
    const refused = fixture('send-suppressed').body as { reason: string; reasons: Array<{ message: string; channel: string | null }> };
    const r = await send('promotional', fixture('send-suppressed'));
    const alert = r.find(Alert);
    expect(alert.props).toMatchObject({ title: 'Not sent', variant: 'warning' });
    expect(deepText(alert)).toContain(refused.reason);
    for (const reason of refused.reasons)
      expect(deepText(alert)).toContain(reason.channel ? `${reason.channel}: ${reason.message}` : reason.message);
  });

  it('a queued message says which channel and when', async () => {
    const r = await send('service', fixture('send-queued'));
    expect(r.find(Alert).props).toMatchObject({ title: 'Going by sms', variant: 'success' });
    expect(deepText(r.find(Alert))).toContain('send by sms; rules: service-whatsapp-sms');
    expect(deepText(r.find(Alert))).toContain('at 2026-11-23 07:00 UTC');
  });

  it('a deferred message says on which channel, when, and why it waits', async () => {
    const r = await send('service', fixture('send-deferred'));
    expect(r.find(Alert).props).toMatchObject({ title: 'Scheduled on sms', variant: 'info' });
    expect(deepText(r.find(Alert))).toContain('at 2026-11-24 05:00 UTC');
    expect(deepText(r.find(Alert))).toContain('local time is inside quiet hours');
  });

  it('a message held for review says so, not that it is going', async () => {
    const r = await send('service', fixture('send-review'));
    expect(r.find(Alert).props).toMatchObject({ title: 'Held for review', variant: 'info' });
    expect(deepText(r.find(Alert))).toContain('collections message to a vulnerable contact');
  });

  it('a double click sends once; a send with no answer is retried with its key, an answered one is not', async () => {
    const r = await loaded();
    const posts = () =>
      server.requests.filter((q) => q.method === 'POST').map((q) => (q.body as { idempotencyKey: string }).idempotencyKey);
    let release: (a: Answer) => void = () => undefined;
    server.answer('POST', '/hubspot/card/send', new Promise<Answer>((resolve) => (release = resolve)));
    r.find(Button).trigger('onClick');
    r.find(Button).trigger('onClick');
    await eventually(() => expect(posts()).toHaveLength(1));
    // HubSpot's proxy gave up on Signalbox: the agent's retry is the same send, by its key
    release({ status: 504, contentType: 'application/json', body: { message: 'upstream timed out' } });
    await r.waitFor(() => expect(r.maybeFind(Alert)).not.toBeNull());
    await eventually(() => expect(r.find(Button).props.disabled).toBe(false));
    server.answer('POST', '/hubspot/card/send', fixture('send-queued'));
    r.find(Button).trigger('onClick');
    await eventually(() => expect(posts()).toHaveLength(2));
    await eventually(() => expect(r.find(Alert).props).toMatchObject({ title: 'Going by sms' }));
    // answered: the next click is a new send, and another message type is another send too
    await eventually(() => expect(r.find(Button).props.disabled).toBe(false));
    r.find(Button).trigger('onClick');
    await eventually(() => expect(posts()).toHaveLength(3));
    const [first, retry, next] = posts();
    expect(first).toMatch(UUID);
    expect(retry).toBe(first);
    expect(next).toMatch(UUID);
    expect(next).not.toBe(first);
  });

  it('a send Signalbox refuses to take (400 problem) shows what it said, not a result', async () => {
    const r = await loaded();
    server.answer('POST', '/hubspot/card/send', fixture('send-invalid'));
    r.find(Button).trigger('onClick');
    await r.waitFor(() => expect(r.maybeFind(Alert)).not.toBeNull());
    expect(r.find(Alert).props).toMatchObject({ title: 'Signalbox did not take the message', variant: 'error' });
    expect(deepText(r.find(Alert))).toContain('/messageType');
    expect(text(r)).toContain(story.summary);
  });
});
