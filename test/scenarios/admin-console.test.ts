/**
 * The admin console in a real browser (Debian's chromium driven by playwright-core) against the
 * real server: sign in, a validation error shown where it is, a dry run's impact, publish, roll
 * back, approve a held message, find a contact and read its reasons; axe-core on every screen
 * (no serious violations) and no Content-Security-Policy violation.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureAdminUi } from '@signalbox/admin-ui/build';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, KEYS, startHarness } from '../support/harness.js';
import { rulesetWith, suppressIn } from '../support/rulesets.js';

const require = createRequire(import.meta.url);
const AXE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

let h: Harness;
let context: BrowserContext;
let page: Page;
const cspViolations: string[] = [];

async function axe(where: string) {
  await page.evaluate(AXE);
  const result = (await page.evaluate(async () => {
    const r = await (
      globalThis as unknown as {
        axe: { run: (o: unknown) => Promise<{ violations: Array<{ id: string; impact: string; nodes: unknown[] }> }> };
      }
    ).axe.run({
      resultTypes: ['violations'],
    });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.length }));
  })) as Array<{ id: string; impact: string; nodes: number }>;
  const serious = result.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  expect(serious, `${where}: ${JSON.stringify(serious)}`).toEqual([]);
}

/**
 * Pastes `text` into the focused editor, as an admin pasting a ruleset does: one paste event with
 * the text on its clipboard data. (Typed in as one IME-style insertion instead, the browser writes
 * it into the editable DOM and the editor reads it back from there: half a minute for a ruleset.)
 */
async function paste(text: string) {
  await page.locator('.cm-content').evaluate((el, t) => {
    const data = new DataTransfer();
    data.setData('text/plain', t);
    el.dispatchEvent(new ClipboardEvent('paste', { clipboardData: data, bubbles: true, cancelable: true }));
  }, text);
}

beforeAll(async () => {
  await ensureAdminUi();
  h = await startHarness({ at: '2026-11-23T09:00:00Z' });
  await h
    .api('integration')
    .post('/api/v1/contacts/import')
    .send([
      ...Array.from({ length: 12 }, (_, i) => ({
        identities: [{ kind: 'phone', value: `+2547330000${String(i).padStart(2, '0')}` }],
        market: 'KE',
      })),
      { identities: [{ kind: 'phone', value: '+4915133000099' }], market: 'DE', vulnerable: true },
    ])
    .expect(200);
  await h
    .api('integration')
    .post('/api/v1/messages')
    .send({
      contact: { identities: [{ kind: 'phone', value: '+4915133000099' }] },
      message: { type: 'transactional', category: 'collections', team: 'finance' },
    })
    .expect(202);
  await h
    .api('integration')
    .post('/api/v1/messages')
    .send({ contact: { identities: [{ kind: 'phone', value: '+254733000001' }] }, message: { type: 'service', team: 'care' } })
    .expect(202);
  await h.settle();
  context = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), 'signalbox-chromium-')), {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  page = context.pages()[0] ?? (await context.newPage());
  page.on('console', (m) => {
    if (/Content.Security.Policy/i.test(m.text())) cspViolations.push(m.text());
  });
}, 120_000);

afterAll(async () => {
  await context?.close();
  await h?.close();
});

describe('the admin console in a browser', () => {
  it('signs in with an admin key (an integration key is refused); the session cookie is HttpOnly and SameSite=Strict', async () => {
    await page.goto(`${h.url}/`);
    await page.getByLabel('API key (admin or agent)').fill(KEYS.integration);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByText('integration keys cannot use the console').waitFor();
    await axe('sign-in');
    await page.getByLabel('API key (admin or agent)').fill(KEYS.admin);
    await page.keyboard.press('Enter');
    await page.getByText('Signed in as ops (admin)').waitFor();
    const [cookie] = await context.cookies(h.url);
    expect(cookie).toMatchObject({ name: 'signalbox_session', httpOnly: true, sameSite: 'Strict' });
    // a write with the cookie but without the CSRF token is refused
    const forged = await page.evaluate(
      async () =>
        (
          await fetch('/api/v1/rules/rollback', {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: '{"to":1,"reason":"csrf"}',
          })
        ).status,
    );
    expect(forged).toBe(403);
  });

  it('shows a validation error at its place in the editor', async () => {
    await page.getByRole('heading', { name: 'Rules and journeys' }).waitFor();
    await page.locator('.cm-content').waitFor();
    await axe('rules');
    const broken = JSON.stringify(
      rulesetWith('broken', (d) => (d.quietHours.default.start = '25:00')),
      null,
      2,
    );
    await page.locator('.cm-content').click();
    await page.keyboard.press('Control+A');
    await paste(broken);
    await page.getByRole('button', { name: 'Validate and save draft' }).click();
    await page.getByRole('list', { name: 'Validation problems' }).getByText('/document/quietHours/default/start').waitFor();
    const marked = page.locator('.cm-lintRange-error').filter({ hasText: '25:00' });
    await expect.poll(() => marked.count()).toBeGreaterThan(0);
  }, 90_000);

  it('dry-runs a change and shows its impact, publishes it with a reason, and rolls back in one click', async () => {
    const change = JSON.stringify(
      rulesetWith('no-service-ke', (d) => d.rules.unshift(suppressIn('KE', 'service'))),
      null,
      2,
    );
    await page.locator('.cm-content').click();
    await page.keyboard.press('Control+A');
    await paste(change);
    await page.getByLabel('Message type for the dry run').selectOption('service');
    await page.getByRole('button', { name: 'Dry run', exact: true }).click();
    const impact = page.getByRole('table', { name: 'Impact per team, workflow, message type and market' });
    await impact.waitFor({ timeout: 30_000 });
    await expect.poll(() => impact.getByRole('row').filter({ hasText: /KE/ }).first().textContent()).toContain('12');
    await page.getByRole('table', { name: /Examples: send→suppress/ }).waitFor();
    await axe('rules with impact');
    await page.getByLabel('Reason for publishing').fill('pause service messages in Kenya');
    await page.getByRole('button', { name: 'Publish' }).click();
    await page.getByText('Published as version 2.').waitFor();
    expect((await h.api('agent').get('/api/v1/rules').expect(200)).body.version).toBe('no-service-ke');
    await page.getByRole('button', { name: 'Roll back to version 1' }).click();
    await page.getByText(/Version 1 \(default-2026\.12\) is active again/).waitFor();
    expect((await h.api('agent').get('/api/v1/rules').expect(200)).body.version).toBe('default-2026.12');
    const audit = await h.api('admin').get('/api/v1/audit?action=rules.*').expect(200);
    expect(audit.body.items.map((e: { action: string; actor: string }) => `${e.action} ${e.actor}`).slice(0, 2)).toEqual([
      'rules.rollback admin:ops',
      'rules.publish admin:ops',
    ]);
  }, 120_000);

  it('approves a message held for review', async () => {
    await page.getByRole('link', { name: 'Activity' }).click();
    const queue = page.getByRole('table', { name: 'Messages held for review' });
    await queue.waitFor();
    await axe('activity');
    await queue.getByRole('button', { name: /^Approve message/ }).click();
    await page.getByText(/approved: it goes through the send gate now/).waitFor();
    const reviews = await h.api('agent').get('/api/v1/reviews').expect(200);
    expect(reviews.body.items).toEqual([]);
  });

  it("finds a contact and reads its decisions' reasons", async () => {
    await page.getByRole('link', { name: 'Contacts' }).click();
    await page.getByLabel('Find a contact').fill('+254733000001');
    await page.keyboard.press('Enter');
    await page.getByRole('button', { name: /\+254733000001/ }).click();
    await page.getByRole('heading', { name: 'Decisions and their reasons' }).waitFor();
    await expect.poll(() => page.locator('ul.reasons li').count()).toBeGreaterThan(0);
    await axe('contact');
    expect(cspViolations).toEqual([]);
  });
});
