import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { isIP, type LookupFunction } from 'node:net';
import ipaddr from 'ipaddr.js';

/**
 * Whether an address is a public unicast one. ipaddr.js classifies it after normalising every
 * notation (an IPv4-mapped IPv6 address such as `::ffff:7f00:1` or `0:0:0:0:0:ffff:127.0.0.1` is
 * its IPv4 address); anything but plain unicast — loopback, private, link-local (cloud metadata),
 * CGNAT, multicast, reserved, unspecified, and IPv6 ranges that embed an IPv4 address (6to4,
 * Teredo, NAT64) — is not public.
 */
export function isPublicAddress(ip: string): boolean {
  const bare = ip.replace(/^\[|\]$/g, '').replace(/%.*$/, '');
  if (!ipaddr.isValid(bare)) return false;
  return ipaddr.process(bare).range() === 'unicast';
}

export class SsrfError extends Error {}

/**
 * A DNS lookup for outgoing connections that refuses non-public addresses: the address checked is
 * the one the socket then connects to (no second resolution a DNS rebinding could answer
 * differently).
 */
export const publicOnlyLookup: LookupFunction = (hostname, options, callback) => {
  dnsLookup(hostname, { ...options, all: true }, (err, addresses: LookupAddress[]) => {
    if (err) {
      callback(err, '', 4);
      return;
    }
    const bad = addresses.find((a) => !isPublicAddress(a.address));
    if (bad !== undefined) {
      callback(new SsrfError(`${hostname} resolves to a private or loopback address (${bad.address})`), '', 4);
      return;
    }
    if (options.all) (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, addresses);
    else {
      const first = addresses[0] as LookupAddress;
      callback(null, first.address, first.family);
    }
  });
};

/**
 * Checks a target URL before any connection: http(s) only, and an IP literal (which no lookup sees)
 * must be public. Host names are checked at connection time by `publicOnlyLookup`.
 */
export function assertTarget(url: string, allowPrivate: boolean): URL {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new SsrfError(`${url} is not a URL`);
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new SsrfError(`scheme ${u.protocol} is not allowed`);
  if (u.username !== '' || u.password !== '') throw new SsrfError('credentials in the URL are not allowed');
  const host = u.hostname.replace(/^\[|\]$/g, '');
  if (!allowPrivate && isIP(host) !== 0 && !isPublicAddress(host))
    throw new SsrfError(`${u.hostname} is a private or loopback address; set allowPrivate to use it`);
  return u;
}
