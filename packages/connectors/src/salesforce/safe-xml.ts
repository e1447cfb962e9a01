/**
 * XML we parse from the outside is checked before any parser sees it: a size cap, UTF-8 only, no
 * DTD of any kind (`<!DOCTYPE`, `<!ENTITY`: XXE, billion laughs, external entities are refused, not
 * expanded), no entity reference but XML's five and numeric character references, and a nesting
 * depth and element count cap, measured by a linear scan. Then fast-xml-parser's validator checks
 * well-formedness, and the parser runs with entity processing off; we decode the five entities and
 * character references ourselves.
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { OutboundMessageError } from './errors.js';

export interface XmlLimits {
  maxBytes: number;
  maxDepth: number;
  maxElements: number;
}

const unsafe = (message: string, path = '') => new OutboundMessageError('XML_UNSAFE', 400, [{ path, message }]);
const PREDEFINED: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

/** Decodes XML's predefined entities and character references (the only ones we accept). */
export function decodeText(s: string): string {
  if (!s.includes('&')) return s;
  return s.replace(/&(#x[0-9a-fA-F]+|#\d+|[a-z]+);/g, (m, e: string) => {
    if (e.startsWith('#x')) return String.fromCodePoint(Number.parseInt(e.slice(2), 16));
    if (e.startsWith('#')) return String.fromCodePoint(Number.parseInt(e.slice(1), 10));
    return PREDEFINED[e] ?? m;
  });
}

/** The checks that run before parsing; returns the text. */
export function checkXml(raw: Buffer | string, limits: XmlLimits): string {
  const size = typeof raw === 'string' ? Buffer.byteLength(raw) : raw.length;
  if (size > limits.maxBytes)
    throw new OutboundMessageError('OUTBOUND_MESSAGE_TOO_LARGE', 413, [
      { path: '', message: `body is ${size} bytes, the limit is ${limits.maxBytes}` },
    ]);
  let text: string;
  try {
    text = typeof raw === 'string' ? raw : new TextDecoder('utf-8', { fatal: true }).decode(raw);
  } catch {
    throw unsafe('body is not UTF-8');
  }
  if (/<!DOCTYPE/i.test(text) || /<!ENTITY/i.test(text)) throw unsafe('document type declarations (DTDs) are not accepted');
  const badEntity = /&(?!(?:lt|gt|amp|quot|apos|#\d{1,7}|#x[0-9a-fA-F]{1,6});)/.exec(text);
  if (badEntity) throw unsafe(`entity reference at offset ${badEntity.index} is not one of XML's predefined entities`);
  let depth = 0;
  let elements = 0;
  let i = 0;
  while (i < text.length) {
    const lt = text.indexOf('<', i);
    if (lt < 0) break;
    if (text.startsWith('<!--', lt)) {
      const end = text.indexOf('-->', lt + 4);
      if (end < 0) throw unsafe('unterminated comment');
      i = end + 3;
    } else if (text.startsWith('<![CDATA[', lt)) {
      const end = text.indexOf(']]>', lt + 9);
      if (end < 0) throw unsafe('unterminated CDATA section');
      i = end + 3;
    } else if (text.startsWith('<?', lt)) {
      const end = text.indexOf('?>', lt + 2);
      if (end < 0) throw unsafe('unterminated processing instruction');
      i = end + 2;
    } else if (text.startsWith('<!', lt)) {
      throw unsafe('markup declarations are not accepted');
    } else {
      // find the tag's end outside quoted attribute values
      let j = lt + 1;
      let quote = '';
      for (; j < text.length; j++) {
        const ch = text[j];
        if (quote) {
          if (ch === quote) quote = '';
        } else if (ch === '"' || ch === "'") quote = ch;
        else if (ch === '>') break;
      }
      if (j >= text.length) throw unsafe('unterminated tag');
      if (text[lt + 1] === '/') depth--;
      else if (text[j - 1] !== '/') {
        depth++;
        elements++;
      } else elements++;
      if (depth > limits.maxDepth) throw unsafe(`elements are nested deeper than ${limits.maxDepth}`);
      if (elements > limits.maxElements) throw unsafe(`more than ${limits.maxElements} elements`);
      i = j + 1;
    }
  }
  const valid = XMLValidator.validate(text, { allowBooleanAttributes: false });
  if (valid !== true)
    throw new OutboundMessageError('OUTBOUND_MESSAGE_INVALID', 400, [
      { path: '', message: `not well-formed XML: ${valid.err.msg} (line ${valid.err.line})` },
    ]);
  return text;
}

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@',
  removeNSPrefix: false,
  processEntities: false,
  htmlEntities: false,
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
  ignoreDeclaration: true,
  ignorePiTags: true,
  isArray: (_name, _path, _leaf, isAttribute) => !isAttribute,
});

export type XmlNode = Record<string, unknown>;

/** Parses checked XML; every element is an array (so repeated elements never change shape). */
export function parseXml(text: string): XmlNode {
  return parser.parse(text) as XmlNode;
}
