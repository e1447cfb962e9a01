/**
 * What Signalbox's card routes answer (`GET /hubspot/card`, `POST /hubspot/card/send`, built in
 * the app's hubspot/card.ts and routes), and its RFC 9457 problems.
 */

export interface Reason {
  code: string;
  channel: string | null;
  message: string;
}

export interface AgentView {
  contact: { id: string; timezone: string | null; market: string | null; channels: string[] };
  summary: string;
  timeline: Array<{ at: string; kind: 'message' | 'event'; title: string; cost?: number }>;
  consent: Array<{ channel: string; purposes: Record<string, 'granted' | 'revoked'> }>;
  journeys: Array<{ id: string; journey: string }>;
  /** `heldBack`: why a send waiting here will not go as things stand (consent revoked since it was scheduled). */
  next: Array<{ at: string; kind: string; ref?: string | null; label?: string | null; heldBack?: string | null }>;
  decisions: Array<{ at: string; type: string; outcome: string; status: string; reason: string; reasons: Reason[] }>;
  budget: Array<{ cap: string; description: string | null; max: number; per: string; used: number; left: number }>;
}

export interface SendAnswer {
  messageId: string;
  status: 'queued' | 'suppressed' | 'review';
  outcome: 'send' | 'defer' | 'suppress' | 'review';
  channel: string | null;
  sendAt: string | null;
  reason: string;
  reasons: Reason[];
}

export interface Problem {
  code: string | null;
  /** what Signalbox said, for a person */
  text: string;
}

/** A non-2xx answer as a person can read it: the problem's detail (or title), else the status. */
export function problemOf(body: unknown, status: number): Problem {
  const p = (typeof body === 'object' && body !== null ? body : {}) as { code?: unknown; detail?: unknown; title?: unknown };
  const said = typeof p.detail === 'string' ? p.detail : typeof p.title === 'string' ? p.title : null;
  return { code: typeof p.code === 'string' ? p.code : null, text: said ?? `Signalbox answered ${status}` };
}

/** An ISO instant as the card shows it: `2026-11-23 07:00` (UTC). */
export const utc = (iso: string) => iso.slice(0, 16).replace('T', ' ');

/** A reason as one line: the channel it is about, then what happened. */
export const reasonLine = (r: Reason) => (r.channel ? `${r.channel}: ${r.message}` : r.message);
