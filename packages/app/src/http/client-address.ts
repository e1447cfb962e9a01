import type { IncomingMessage } from 'node:http';
import type { Request } from 'express';

/** Express's compiled `trust proxy` (app.get('trust proxy fn')): whether the hop at `i` is a proxy we believe. */
export type TrustProxy = (address: string, i: number) => boolean;

/** A request's client address as Express names it (X-Forwarded-For only as `trust proxy` says): what key guesses are counted against. */
export const clientAddress = (req: Request) => req.ip ?? req.socket.remoteAddress ?? 'unknown';

/**
 * The client's address as Express's `req.ip` names it, for a request Express has not seen (the
 * ingest fast path): the socket's peer, then X-Forwarded-For from its right end for as long as
 * each hop is trusted (proxy-addr's walk, and `forwarded`'s parsing of the header: commas split,
 * blanks around an address dropped, empty entries skipped).
 */
export function clientAddressOf(req: IncomingMessage, trust: TrustProxy): string {
  const addrs = [req.socket.remoteAddress ?? 'unknown', ...forwardedFor(String(req.headers['x-forwarded-for'] ?? ''))];
  for (let i = 0; i < addrs.length - 1; i++) if (!trust(addrs[i] as string, i)) return addrs[i] as string;
  return addrs[addrs.length - 1] as string;
}

/** The header's addresses, nearest hop first. */
function forwardedFor(header: string): string[] {
  const list: string[] = [];
  let end = header.length;
  let start = header.length;
  for (let i = header.length - 1; i >= 0; i--) {
    const c = header.charCodeAt(i);
    if (c === 0x20) {
      if (start === end) start = end = i;
    } else if (c === 0x2c) {
      if (start !== end) list.push(header.substring(start, end));
      start = end = i;
    } else start = i;
  }
  if (start !== end) list.push(header.substring(start, end));
  return list;
}
