/**
 * Which provider accounts serve which channel in which market, in order (the first is the
 * primary, the rest fail-overs). Written `channel[@MARKET]=provider,provider;…`, e.g.
 * `sms=twilio,telerivet;sms@KE=telerivet,twilio;whatsapp=twilio;voice=twilio;email=smtp`.
 */
export type RouteTable = ReadonlyMap<string, readonly string[]>;

export class RouteSyntaxError extends Error {}

export function parseRoutes(spec: string): RouteTable {
  const table = new Map<string, string[]>();
  for (const part of spec
    .split(';')
    .map((p) => p.trim())
    .filter((p) => p !== '')) {
    const m = /^([a-z][a-z0-9_-]*)(?:@([A-Z]{2}))?=([\w.-]+(?:,[\w.-]+)*)$/.exec(part.replace(/\s+/g, ''));
    if (m === null) throw new RouteSyntaxError(`"${part}": expected channel[@MARKET]=provider[,provider…]`);
    const key = routeKey(m[1] as string, m[2]);
    if (table.has(key)) throw new RouteSyntaxError(`"${part}": ${key} is routed twice`);
    const chain = (m[3] as string).split(',');
    if (new Set(chain).size !== chain.length) throw new RouteSyntaxError(`"${part}": a provider is named twice`);
    table.set(key, chain);
  }
  return table;
}

const routeKey = (channel: string, market: string | undefined) => (market === undefined ? channel : `${channel}@${market}`);

/** The providers for a channel in a market: the market's own route, else the channel's. */
export function routeFor(table: RouteTable, channel: string, market: string | undefined): readonly string[] {
  return (market !== undefined ? table.get(routeKey(channel, market)) : undefined) ?? table.get(channel) ?? [];
}

/** Every provider a table names. */
export function providersNamed(table: RouteTable): Set<string> {
  return new Set([...table.values()].flat());
}
