/** The HubSpot project in integrations/hubspot agrees with what the app serves and asks for. */
import { readFileSync } from 'node:fs';
import { DEFAULT_SCOPES } from '@signalbox/connectors';
import { MESSAGE_TYPES } from '@signalbox/engine';
import { describe, expect, it } from 'vitest';

const read = (p: string) => readFileSync(new URL(`../integrations/hubspot/${p}`, import.meta.url), 'utf8');
const json = (p: string) => JSON.parse(read(p));

describe('integrations/hubspot', () => {
  const app = json('src/app/app-hsmeta.json');
  it('asks for exactly the scopes the app uses, least first', () => {
    expect([...app.config.auth.requiredScopes].sort()).toEqual([...DEFAULT_SCOPES].sort());
    expect(app.config.auth.redirectUrls[0]).toMatch(/\/hubspot\/oauth\/callback$/);
  });
  it('permits the card to fetch exactly the Signalbox host it calls', () => {
    const card = read('src/app/cards/SignalboxCard.tsx');
    const host = /const SIGNALBOX = '([^']+)'/.exec(card)?.[1];
    expect(app.config.permittedUrls.fetch).toEqual([host]);
    expect(card).toContain('/hubspot/card?objectId=');
    expect(card).toContain('/hubspot/card/send');
    expect(json('src/app/cards/signalbox-card-hsmeta.json').config.entrypoint).toBe('/app/cards/SignalboxCard.tsx');
  });
  it('the workflow action offers the message types the policy knows and posts to our action route', () => {
    const action = json('src/app/workflow-actions/send-via-signalbox-hsmeta.json').config;
    expect(action.actionUrl).toMatch(/\/hooks\/hubspot\/actions\/send$/);
    const types = action.inputFields.find((f: { typeDefinition: { name: string } }) => f.typeDefinition.name === 'messageType');
    for (const o of types.typeDefinition.options) expect(MESSAGE_TYPES).toContain(o.value);
    expect(action.outputFields.map((f: { typeDefinition: { name: string } }) => f.typeDefinition.name)).toEqual(
      expect.arrayContaining(['channel', 'outcome', 'decision_reason', 'cost']),
    );
  });
  it('subscribes webhooks to our webhook route', () => {
    expect(json('src/app/webhooks/webhooks-hsmeta.json').config.settings.targetUrl).toMatch(/\/hooks\/hubspot\/webhooks$/);
  });
});
