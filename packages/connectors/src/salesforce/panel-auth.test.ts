/** The panel's credential check, with exactly the headers the Apex controller and External Credential send. */
import { describe, expect, it } from 'vitest';
import { toId18 } from './ids.js';
import { newPanelKey, PanelAuthError, verifyPanelRequest } from './panel-auth.js';

const ORG = toId18('00D5g000000ABCD') as string;
const key = newPanelKey();
const keys = new Map([[ORG, key]]);
const keyOf = async (orgId: string) => keys.get(orgId) ?? null;

describe('record panel authentication', () => {
  it('accepts the org’s key with its org id (15 or 18 characters) and names the org', async () => {
    expect(key).toMatch(/^sbp_[\w-]{43}$/);
    expect(await verifyPanelRequest({ headers: { 'x-signalbox-panel-key': key, 'x-signalbox-org-id': ORG } }, keyOf)).toBe(ORG);
    expect(await verifyPanelRequest({ headers: { 'x-signalbox-panel-key': key, 'x-signalbox-org-id': ORG.slice(0, 15) } }, keyOf)).toBe(
      ORG,
    );
  });

  it.each([
    ['no headers', {}],
    ['no key', { 'x-signalbox-org-id': ORG }],
    ['a wrong key', { 'x-signalbox-panel-key': `${key}x`, 'x-signalbox-org-id': ORG }],
    ['another org’s id', { 'x-signalbox-panel-key': key, 'x-signalbox-org-id': toId18('00D5g000000ZZZZ') as string }],
    ['a forged org id', { 'x-signalbox-panel-key': key, 'x-signalbox-org-id': '00D5g000000ABCDzzz' }],
  ])('refuses %s with the same 401', async (_name, headers) => {
    const e = await verifyPanelRequest({ headers }, keyOf).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(PanelAuthError);
    expect(e).toMatchObject({ code: 'PANEL_AUTH_INVALID', status: 401 });
  });
});
