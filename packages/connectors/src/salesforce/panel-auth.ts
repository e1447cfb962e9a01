/**
 * Calls from the record panel arrive through the org's Named Credential: its External Credential
 * (Custom protocol) adds `X-Signalbox-Panel-Key` from a secret entered in Setup, and the Apex
 * controller adds `X-Signalbox-Org-Id` (`UserInfo.getOrganizationId()`). We look up the key we
 * issued to that org and compare SHA-256 digests in constant time (equal lengths whatever was
 * sent); a missing header, an unknown org and a wrong key all get the same 401, so a caller
 * learns nothing about which org ids exist.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { SignalboxError } from '@signalbox/engine';
import { toId18 } from './ids.js';

export const PANEL_KEY_HEADER = 'x-signalbox-panel-key';
export const PANEL_ORG_HEADER = 'x-signalbox-org-id';

export class PanelAuthError extends SignalboxError {
  constructor() {
    super('PANEL_AUTH_INVALID', 401, 'the panel key does not match a connected org', [
      { path: '', message: 'missing or wrong X-Signalbox-Panel-Key / X-Signalbox-Org-Id' },
    ]);
  }
}

/** A new panel key for an org (shown once to its admin, stored by the app). */
export function newPanelKey(): string {
  return `sbp_${randomBytes(32).toString('base64url')}`;
}

const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();
const header = (h: Record<string, string | string[] | undefined>, name: string): string | null => {
  const v = h[name] ?? h[name.toLowerCase()];
  return typeof v === 'string' && v !== '' ? v : null;
};

/**
 * The org a panel request comes from, or PanelAuthError. `keyOf` returns the key issued to an org
 * (null when the org is not connected).
 */
export async function verifyPanelRequest(
  req: { headers: Record<string, string | string[] | undefined> },
  keyOf: (orgId: string) => Promise<string | null>,
): Promise<string> {
  const key = header(req.headers, PANEL_KEY_HEADER);
  const org = header(req.headers, PANEL_ORG_HEADER);
  const orgId = org === null ? null : toId18(org);
  // compare against something even when the org is unknown, so timing does not tell
  const expected = orgId === null ? null : await keyOf(orgId);
  const ok = timingSafeEqual(digest(key ?? ''), digest(expected ?? `unknown-${randomBytes(16).toString('hex')}`));
  if (!ok || key === null || expected === null || orgId === null) throw new PanelAuthError();
  return orgId;
}
