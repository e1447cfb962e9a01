import type { Response } from 'express';

/**
 * The headers of the app's own small HTML pages (install done, unsubscribe): nothing loads or runs
 * but the page itself, its form posts only here, and no other site may frame it (clickjacking an
 * unsubscribe or an install page); not cached, not sniffed, no referrer with a token in its path.
 */
export function pageHeaders(res: Response): Response {
  return res
    .set('content-security-policy', "default-src 'none'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
    .set('x-frame-options', 'DENY')
    .set('x-content-type-options', 'nosniff')
    .set('referrer-policy', 'no-referrer')
    .set('cache-control', 'no-store');
}
