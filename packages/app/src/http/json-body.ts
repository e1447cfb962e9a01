import { pointerSegment } from '@signalbox/engine';
import { AppError, InputError } from '../errors.js';

/**
 * How deep a JSON body may nest. Real documents are far shallower (a ruleset's conditions nest a
 * dozen levels); parsers, validators and JSON.stringify recurse, and a body nesting thousands of
 * levels would overflow their stacks: it is refused before anything recurses into it.
 */
export const MAX_JSON_DEPTH = 64;

const OPEN_OBJECT = 0x7b;
const OPEN_ARRAY = 0x5b;
const CLOSE_OBJECT = 0x7d;
const CLOSE_ARRAY = 0x5d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/** The deepest nesting of a JSON text (strings skipped), without parsing it. */
export function jsonDepth(text: Buffer | string): number {
  const b = typeof text === 'string' ? Buffer.from(text) : text;
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < b.length; i++) {
    const c = b[i] as number;
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
    } else if (c === QUOTE) inString = true;
    else if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
      depth++;
      if (depth > max) max = depth;
    } else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) depth--;
  }
  return max;
}

/**
 * The JSON pointer of the first value that nests deeper than `limit` (for the problem's path).
 * Only run once a body is known to be too deep: it follows keys and indices as it goes.
 */
export function pointerPastDepth(text: string, limit: number): string {
  const path: Array<string | number> = [];
  const kinds: Array<'object' | 'array'> = [];
  /** Per open container: whether it pushed a key onto the path. */
  const named: boolean[] = [];
  let key: string | null = null;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      let j = i + 1;
      let s = '';
      while (j < text.length && text[j] !== '"') {
        if (text[j] === '\\') {
          s += text.slice(j, j + 2);
          j += 2;
        } else s += text[j++];
      }
      // a string followed by ':' is a key of the object it is in
      let k = j + 1;
      while (k < text.length && /\s/.test(text[k] as string)) k++;
      if (kinds.at(-1) === 'object' && text[k] === ':') {
        try {
          key = JSON.parse(`"${s}"`) as string;
        } catch {
          key = s;
        }
      }
      i = j;
    } else if (c === '{' || c === '[') {
      // a value in an object is named by its key (pushed here, popped when it closes); one in an
      // array by the array's current index, already on the path
      const keyed = kinds.at(-1) === 'object' && key !== null;
      if (keyed) path.push(key as string);
      if (kinds.length >= limit) break;
      kinds.push(c === '{' ? 'object' : 'array');
      named.push(keyed);
      if (c === '[') path.push(0);
      key = null;
    } else if (c === '}' || c === ']') {
      if (kinds.pop() === 'array') path.pop();
      if (named.pop() === true) path.pop();
    } else if (c === ',' && kinds.at(-1) === 'array') path.push((path.pop() as number) + 1);
  }
  return path.map((s) => `/${pointerSegment(s)}`).join('');
}

/** Fatal: a byte sequence that is not UTF-8 throws (the BOM is kept: JSON never starts with one). */
const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * A body's text. JSON is sent as UTF-8 (RFC 8259): bytes that are not are refused, never read as
 * U+FFFD — two events whose ids differ only in such bytes would be one id, the second taken for a
 * duplicate of the first and lost.
 */
export function utf8Text(raw: Buffer | string): string {
  if (typeof raw === 'string') return raw;
  const text = utf8OrNull(raw);
  if (text === null)
    throw new InputError('the body is not valid UTF-8', [{ path: '', message: 'not valid UTF-8 (send JSON as UTF-8)' }], 'BODY_NOT_UTF8');
  return text;
}

/** Bytes as UTF-8 text, or null where they are not UTF-8. */
export function utf8OrNull(raw: Uint8Array): string | null {
  try {
    return UTF8.decode(raw);
  } catch {
    return null;
  }
}

/** Refuses a body nested deeper than MAX_JSON_DEPTH, naming where (before anything parses it). */
export function assertJsonDepth(raw: Buffer | string, limit = MAX_JSON_DEPTH): void {
  if (jsonDepth(raw) <= limit) return;
  const path = pointerPastDepth(utf8Text(raw), limit);
  throw new InputError(
    `the body nests deeper than ${limit} levels`,
    [{ path, message: `nested deeper than ${limit} levels` }],
    'JSON_TOO_DEEP',
  );
}

/** Whether a text is JSON at all (`null` and `42` are; an empty body is not). */
export function isJsonText(text: unknown): boolean {
  if (typeof text !== 'string' || text.trim() === '') return false;
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/** A body that is not an object or an array: valid JSON of another kind (`null`, `42`) is said so. */
function notObjectOrArray(text: string): never {
  if (isJsonText(text))
    throw new InputError(
      'the body must be a JSON object or array',
      [{ path: '', message: 'expected an object or an array' }],
      'BODY_NOT_JSON',
    );
  throw new InputError('the body is not valid JSON', [{ path: '', message: 'not valid JSON' }], 'BODY_NOT_JSON');
}

/** Parses a JSON body read raw: the depth checked first, then an object or array (as express.json is strict). */
export function parseJsonBody(
  raw: Buffer | string,
  /** False for what a provider sends us (its batch is not refused whole for one such number). */
  exactIntegers = true,
): unknown {
  const text = utf8Text(raw);
  if (!/^\s*[[{]/.test(text)) notObjectOrArray(text);
  assertJsonDepth(raw);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new InputError('the body is not valid JSON', [{ path: '', message: 'not valid JSON' }], 'BODY_NOT_JSON');
  }
  assertStorableText(text, value);
  assertFiniteNumbers(text, value);
  if (exactIntegers) assertExactIntegers(text, value);
  return value;
}

/**
 * An integer literal of 16 digits or more where a value starts (as `HUGE` looks): the only kind
 * that can be beyond ±(2^53 − 1) and so read as another integer. Only a candidate: its digits
 * decide.
 */
const LONG_INTEGER = /(?<=[:,[])\s*-?\d{16,}(?![\d.eE])/;

/**
 * An integer a double cannot hold exactly (`9007199254740993` is read as `…992`) is refused with
 * its path: stored, it would silently be another number, an OTP code or an order number that is not
 * the one sent. Sent as a string it is kept as it is. A body with no candidate literal is not
 * walked. (What CRMs and providers send is not held to it: their ids are far below 2^53, and one
 * such number must not refuse a whole batch.)
 */
export function assertExactIntegers(text: string, value: unknown): void {
  if (!LONG_INTEGER.test(text)) return;
  const inexact = new Set<number>();
  for (const m of text.matchAll(new RegExp(LONG_INTEGER.source, 'g'))) {
    const literal = m[0].trim();
    const read = Number(literal);
    if (Number.isFinite(read) && BigInt(literal) !== BigInt(read)) inexact.add(read);
  }
  if (inexact.size === 0) return;
  const problems = numbersWhere(
    value,
    (n) => inexact.has(n),
    'an integer beyond ±9007199254740991 that a JSON number here cannot hold exactly: send it as a string',
  );
  if (problems.length > 0) throw new InputError('the body holds an integer that would be read as another', problems, 'NUMBER_NOT_EXACT');
}

/** The paths of the numbers in a parsed body that `refuse` (at most 20), each with `message`; a path is built only for those. */
function numbersWhere(value: unknown, refuse: (n: number) => boolean, message: string): Array<{ path: string; message: string }> {
  const problems: Array<{ path: string; message: string }> = [];
  const at: Array<string | number> = [];
  const walk = (v: unknown) => {
    if (problems.length >= 20) return;
    if (typeof v === 'number') {
      if (refuse(v)) problems.push({ path: at.map((k) => `/${typeof k === 'number' ? k : pointerSegment(k)}`).join(''), message });
    } else if (Array.isArray(v))
      for (let i = 0; i < v.length; i++) {
        at.push(i);
        walk(v[i]);
        at.pop();
      }
    else if (v !== null && typeof v === 'object')
      for (const k of Object.keys(v)) {
        at.push(k);
        walk((v as Record<string, unknown>)[k]);
        at.pop();
      }
  };
  walk(value);
  return problems;
}

/**
 * A number literal that may not fit a double, looked for where a value starts (after `:`, `,` or
 * `[`, so ids such as `123e4567-…` and e-mail addresses do not match): an exponent of 100 or
 * more, or 210 digits in a row (209 digits with an exponent under 100 stay below 1e308). What
 * matches is only a candidate: the parsed value decides. Linear: a match starts only at those
 * three characters.
 */
const HUGE = /(?<=[:,[])\s*-?(?:\d+(?:\.\d*)?[eE]\+?0*[1-9]\d{2}|\d{210})/;

/**
 * A number beyond what a double holds (±1.7976931348623157e308, `1e999`) is refused, with its
 * path: JSON.parse reads it as Infinity, which no JSON can carry back, so it would be stored as
 * `null`, silently another value. A body with no candidate literal is not walked, and a walk
 * builds a path only for what it refuses.
 */
export function assertFiniteNumbers(text: string, value: unknown): void {
  if (!HUGE.test(text)) return;
  const problems = numbersWhere(value, (n) => !Number.isFinite(n), 'a number too large to store (beyond ±1.7976931348623157e308)');
  if (problems.length > 0) throw new InputError('the body holds a number too large to store', problems, 'NUMBER_OUT_OF_RANGE');
}

/**
 * What makes a body worth walking: an escape that may stand for a NUL or half of a surrogate pair,
 * `__proto__` spelt out, or an escaped ASCII character (which could spell it).
 */
const SUSPECT = /\\u(?:0000|d[89a-f]|00[2-7][0-9a-f])|__proto__/i;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Text no store keeps as it was sent is refused, with the path of each string (key or value): a NUL
 * (`\u0000`), which PostgreSQL cannot store in text at all (one in a group commit failed the
 * other callers' writes with it) and SQLite keeps as U+FFFD in JSON; and a lone surrogate
 * (`\ud800` not followed by its pair), which is no Unicode and is stored as U+FFFD, silently
 * altered. Raw bytes cannot carry either (JSON refuses a raw NUL, and undecodable UTF-8 is already
 * U+FFFD): only escapes can. So is a `__proto__` key: JSON.parse keeps it as an own key, but a
 * name → value field read into an object drops it (assigning it sets the prototype), so what was
 * sent would be checked and kept as if that entry were not there. A body with none of these is
 * not walked.
 */
export function assertStorableText(text: string, value: unknown): void {
  if (!SUSPECT.test(text)) return;
  const problems: Array<{ path: string; message: string }> = [];
  const check = (s: string, path: string) => {
    if (s.includes('\u0000')) problems.push({ path, message: 'must not contain NUL (\\u0000)' });
    else if (LONE_SURROGATE.test(s)) problems.push({ path, message: 'must be valid Unicode (a surrogate without its pair)' });
  };
  const walk = (v: unknown, path: string) => {
    if (problems.length >= 20) return;
    if (typeof v === 'string') check(v, path);
    else if (Array.isArray(v)) v.forEach((x, i) => walk(x, `${path}/${i}`));
    else if (v !== null && typeof v === 'object')
      for (const [k, x] of Object.entries(v)) {
        const at = `${path}/${pointerSegment(k)}`;
        if (k === '__proto__') problems.push({ path: at, message: '"__proto__" cannot be a key (it is reserved in JavaScript objects)' });
        else check(k, at);
        walk(x, at);
      }
  };
  walk(value, '');
  if (problems.length > 0) throw new InputError('the body holds text that cannot be stored as sent', problems);
}

/**
 * Parses a body whose usual shape is a list of flat records (HubSpot's deliveries: an array of
 * objects of scalars). V8's JSON.parse does not recurse on the stack (it reads any depth); what
 * reads the value afterwards does. So the depth scan (a pass over every byte: for a 27 KB delivery,
 * half the cost of parsing it) runs only when a record holds an object or an array of anything but
 * scalars — a deep body is refused with its path as before, the common one is not scanned.
 */
export function parseJsonRecords(raw: Buffer, text = utf8Text(raw)): unknown {
  if (!/^\s*[[{]/.test(text)) notObjectOrArray(text);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new InputError('the body is not valid JSON', [{ path: '', message: 'not valid JSON' }], 'BODY_NOT_JSON');
  }
  if (!flatRecords(value)) assertJsonDepth(raw);
  assertStorableText(text, value);
  assertFiniteNumbers(text, value);
  return value;
}

const scalar = (v: unknown): boolean => v === null || typeof v !== 'object';

/** An array of objects whose values are scalars or arrays of scalars (depth ≤ 3). */
function flatRecords(value: unknown): boolean {
  if (!Array.isArray(value)) return false;
  for (const r of value) {
    if (r === null || typeof r !== 'object' || Array.isArray(r)) return false;
    for (const k in r) {
      const v = (r as Record<string, unknown>)[k];
      if (!scalar(v) && !(Array.isArray(v) && v.every(scalar))) return false;
    }
  }
  return true;
}

const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json\s*(?:;.*)?$/i;

/** Whether a Content-Type names JSON. */
export const isJsonType = (type: string | undefined): boolean => type !== undefined && JSON_TYPE.test(type);

/** A `charset` parameter of a Content-Type, lower case without quotes (undefined when none). */
const charsetOf = (type: string): string | undefined => /;\s*charset\s*=\s*"?([^";\s]+)"?/i.exec(type)?.[1]?.toLowerCase();

/** The request's body must be JSON, in UTF-8: 415 naming what to send otherwise. */
export function assertJsonType(type: string | undefined): void {
  if (!isJsonType(type))
    throw new AppError(
      415,
      'UNSUPPORTED_MEDIA_TYPE',
      `send the body as JSON with "content-type: application/json"${type ? ` (got "${type}")` : ' (no content-type was sent)'}`,
      [{ path: '/headers/content-type', message: 'must be application/json' }],
    );
  assertUtf8Charset(type);
}

/** A body declared in another charset than UTF-8 is 415 (none declared: UTF-8, as JSON is). */
export function assertUtf8Charset(type: string | undefined): void {
  const charset = type === undefined ? undefined : charsetOf(type);
  if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8')
    throw new AppError(415, 'UNSUPPORTED_MEDIA_TYPE', `send JSON in UTF-8 (got charset "${charset.slice(0, 40)}")`, [
      { path: '/headers/content-type', message: 'charset must be utf-8' },
    ]);
}
