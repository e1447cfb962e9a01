import type { Contact, ContactInput } from '@signalbox/engine';

/** A contact's fields as an upsert gives them (identities are claimed separately). */
export type ContactFields = Omit<ContactInput, 'id' | 'identities'>;

/** An empty contact record (identities live in their own table). */
export function emptyContact(id: string): Contact {
  return { id, identities: [], capabilities: {}, lastInbound: {}, preferences: {}, engagement: {}, tags: [], attributes: {} };
}

/** The stored part of a contact after an upsert: what the input gives wins, maps and tags merge. */
export function applyFields(base: Contact, input: ContactFields): Contact {
  const next: Contact = { ...base, identities: [] };
  if (input.timezone !== undefined) next.timezone = canonicalZone(input.timezone);
  if (input.market !== undefined) next.market = input.market;
  if (input.locale !== undefined) next.locale = input.locale;
  if (input.smartphone !== undefined) next.smartphone = input.smartphone;
  if (input.vulnerable !== undefined) next.vulnerable = input.vulnerable;
  next.capabilities = { ...(base.capabilities ?? {}), ...(input.capabilities ?? {}) };
  next.lastInbound = { ...(base.lastInbound ?? {}), ...(input.lastInbound ?? {}) };
  next.preferences = { ...(base.preferences ?? {}), ...(input.preferences ?? {}) };
  next.engagement = { ...(base.engagement ?? {}) } as Contact['engagement'];
  next.tags = [...new Set([...(base.tags ?? []), ...(input.tags ?? [])])];
  next.attributes = { ...(base.attributes ?? {}), ...(input.attributes ?? {}) };
  if (input.readHours !== undefined) next.readHours = input.readHours;
  return next;
}

/** Two records of one person merged: the older (`a`) wins on conflicts, counts add up. */
export function mergeContacts(a: Contact, b: Contact): Contact {
  const engagement: Contact['engagement'] = { ...a.engagement };
  for (const [ch, e] of Object.entries(b.engagement ?? {})) {
    const x = engagement[ch];
    engagement[ch] = x
      ? { sent: x.sent + e.sent, delivered: x.delivered + e.delivered, read: x.read + e.read, replied: x.replied + e.replied }
      : e;
  }
  const merged: Contact = {
    ...b,
    ...a,
    capabilities: { ...b.capabilities, ...a.capabilities },
    lastInbound: { ...b.lastInbound, ...a.lastInbound },
    preferences: { ...b.preferences, ...a.preferences },
    attributes: { ...b.attributes, ...a.attributes },
    tags: [...new Set([...(a.tags ?? []), ...(b.tags ?? [])])],
    engagement,
  };
  const hours = a.readHours ?? b.readHours;
  if (a.readHours && b.readHours) merged.readHours = a.readHours.map((h, i) => h + (b.readHours?.[i] ?? 0));
  else if (hours) merged.readHours = hours;
  return merged;
}

/** The zones the time zone database names, by their lower-case spelling (built once). */
let zonesByLowerCase: Map<string, string> | null = null;
const canonicalCache = new Map<string, string>();

/**
 * A time zone as the time zone database spells it (`africa/nairobi` → `Africa/Nairobi`), so the
 * contact, the card and reports show one name; an alias the database knows under another name
 * (`Asia/Kolkata`, which ICU calls Asia/Calcutta) is kept as given, in its own case where that is
 * one of the database's names. Cached: contacts are upserted on the hot path.
 */
export function canonicalZone(zone: string): string {
  const cached = canonicalCache.get(zone);
  if (cached !== undefined) return cached;
  zonesByLowerCase ??= new Map(Intl.supportedValuesOf('timeZone').map((z) => [z.toLowerCase(), z]));
  let out = zonesByLowerCase.get(zone.toLowerCase()) ?? zone;
  if (out === zone) {
    try {
      const known = new Intl.DateTimeFormat('en-US', { timeZone: zone }).resolvedOptions().timeZone;
      if (known.toLowerCase() === zone.toLowerCase()) out = known;
    } catch {
      // not a zone: kept as given (the API refuses unknown zones before this)
    }
  }
  if (canonicalCache.size < 1000) canonicalCache.set(zone, out);
  return out;
}
