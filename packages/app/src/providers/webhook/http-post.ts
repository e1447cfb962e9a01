import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';

export interface PostResult {
  status: number;
  body: string;
  /** The address the request was actually sent to. */
  remoteAddress: string | undefined;
}

/**
 * POSTs a body and reads the answer (no redirects followed), connecting through `lookup`, with a
 * timeout over the whole exchange; `checkRemote` sees the connected socket's address before
 * anything is written to it.
 */
export function postJson(
  url: URL,
  headers: Record<string, string>,
  body: string,
  o: { lookup?: LookupFunction; timeoutMs: number; checkRemote?: (address: string | undefined) => void },
): Promise<PostResult> {
  return new Promise((resolve, reject) => {
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = send(
      url,
      {
        method: 'POST',
        headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
        ...(o.lookup ? { lookup: o.lookup } : {}),
        timeout: o.timeoutMs,
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          // a gateway's answer is small: more is refused rather than buffered
          if (size > 1_000_000) req.destroy(new Error('the answer is too large'));
          else chunks.push(c);
        });
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), remoteAddress: req.socket?.remoteAddress }),
        );
        res.on('error', reject);
      },
    );
    req.on('socket', (socket) => {
      socket.once('connect', () => {
        try {
          o.checkRemote?.(socket.remoteAddress);
        } catch (err) {
          req.destroy(err as Error);
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${o.timeoutMs} ms`)));
    req.on('error', reject);
    req.end(body);
  });
}
