/**
 * XML from the outside, read safely in one linear pass: a size cap, UTF-8 only, no DTD of any kind
 * (`<!DOCTYPE`, `<!ENTITY`: XXE, billion laughs, external entities are refused, not expanded), no
 * entity reference but XML's five and numeric character references (decoded by us, never
 * expanded), a nesting depth and an element count cap, and well-formedness (names, quoted
 * attributes without `<`, no attribute twice, every element closed by its own name, one root, no
 * text outside it). No general-purpose parser sees the text: this reader is the parser, and it
 * builds only what the Outbound Message reader needs (elements as arrays by qualified name,
 * attributes as `@name`, text as a string or `#text`). About ten times faster than parsing with a
 * general XML library, which is what lets a 100-notification message be stored faster than a bare
 * endpoint can merely parse it.
 */
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

export type XmlNode = Record<string, unknown>;

/** An element being read: its qualified name, what it holds so far, its text pieces. */
interface Open {
  name: string;
  node: XmlNode;
  text: string;
  hasChildren: boolean;
  hasAttributes: boolean;
}

const NAME = /[A-Za-z_:\u00C0-\uFFFF][\w.:\-\u00B7\u00C0-\uFFFF]*/y;
const SPACE = /[ \t\r\n]*/y;
const ATTRIBUTE = /([A-Za-z_:\u00C0-\uFFFF][\w.:\-\u00B7\u00C0-\uFFFF]*)[ \t\r\n]*=[ \t\r\n]*(?:"([^"<]*)"|'([^'<]*)')/y;
const ONLY_SPACE = /^[ \t\r\n]*$/;
const escapeText = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/**
 * Reads XML from the outside (see the top of this file); throws OutboundMessageError with a stable
 * code: XML_UNSAFE (a DTD, an entity, too deep, too many elements, not UTF-8),
 * OUTBOUND_MESSAGE_TOO_LARGE, OUTBOUND_MESSAGE_INVALID (not well-formed). Every element is an array
 * under its qualified name; an element with neither attributes nor children is its text (trimmed);
 * text beside attributes or children is `#text`. Text and attribute values keep their entity
 * references (decodeText decodes them); CDATA comes back escaped the same way.
 */
export function readXml(raw: Buffer | string, limits: XmlLimits): XmlNode {
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
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const malformed = (message: string, at: number): never => {
    throw new OutboundMessageError('OUTBOUND_MESSAGE_INVALID', 400, [
      { path: '', message: `not well-formed XML: ${message} (line ${text.slice(0, at).split('\n').length})` },
    ]);
  };
  const doc: XmlNode = {};
  const stack: Open[] = [];
  let roots = 0;
  let elements = 0;
  let i = 0;
  const addText = (piece: string, at: number) => {
    const top = stack[stack.length - 1];
    if (top === undefined) {
      if (!ONLY_SPACE.test(piece)) malformed('text outside the root element', at);
      return;
    }
    if (piece.includes('&')) {
      const bad = /&(?!(?:lt|gt|amp|quot|apos|#\d{1,7}|#x[0-9a-fA-F]{1,6});)/.exec(piece);
      if (bad !== null) throw unsafe(`entity reference at offset ${at + bad.index} is not one of XML's predefined entities`);
    }
    if (piece.includes('>') && piece.includes(']]>')) malformed("']]>' in text", at);
    // each piece of text trimmed on its own (text around a child element is not run together with its spaces)
    top.text += piece.trim();
  };
  const close = (o: Open) => {
    const value = o.text.trim();
    let item: XmlNode | string;
    if (!o.hasChildren && !o.hasAttributes) item = value;
    else {
      if (value !== '') o.node['#text'] = value;
      item = o.node;
    }
    const parent = stack[stack.length - 1];
    const into = parent === undefined ? doc : parent.node;
    if (parent !== undefined) parent.hasChildren = true;
    const list = into[o.name] as unknown[] | undefined;
    if (list === undefined) into[o.name] = [item];
    else list.push(item);
  };
  while (i < text.length) {
    const lt = text.indexOf('<', i);
    if (lt < 0) {
      addText(text.slice(i), i);
      break;
    }
    if (lt > i) addText(text.slice(i, lt), i);
    const next = text.charCodeAt(lt + 1);
    if (next === 33 /* ! */) {
      if (text.startsWith('<!--', lt)) {
        const end = text.indexOf('-->', lt + 4);
        if (end < 0) malformed('unterminated comment', lt);
        i = end + 3;
      } else if (text.startsWith('<![CDATA[', lt)) {
        const end = text.indexOf(']]>', lt + 9);
        if (end < 0) malformed('unterminated CDATA section', lt);
        if (stack.length === 0) malformed('CDATA outside the root element', lt);
        (stack[stack.length - 1] as Open).text += escapeText(text.slice(lt + 9, end));
        i = end + 3;
      } else if (/^<!(DOCTYPE|ENTITY)/i.test(text.slice(lt, lt + 9))) {
        throw unsafe('document type declarations (DTDs) are not accepted');
      } else throw unsafe('markup declarations are not accepted');
    } else if (next === 63 /* ? */) {
      const end = text.indexOf('?>', lt + 2);
      if (end < 0) malformed('unterminated processing instruction', lt);
      i = end + 2;
    } else if (next === 47 /* / */) {
      NAME.lastIndex = lt + 2;
      const m = NAME.exec(text);
      if (m === null) return malformed('a closing tag without a name', lt);
      SPACE.lastIndex = NAME.lastIndex;
      SPACE.exec(text);
      if (text.charCodeAt(SPACE.lastIndex) !== 62) malformed(`closing tag </${m[0]} is not closed`, lt);
      const top = stack.pop();
      if (top === undefined || top.name !== m[0]) malformed(`</${m[0]}> closes ${top === undefined ? 'nothing' : `<${top.name}>`}`, lt);
      close(top as Open);
      i = SPACE.lastIndex + 1;
    } else {
      NAME.lastIndex = lt + 1;
      const m = NAME.exec(text);
      if (m === null) return malformed("a '<' that starts no tag", lt);
      if (stack.length === 0 && roots++ > 0) malformed('more than one root element', lt);
      if (stack.length + 1 > limits.maxDepth) throw unsafe(`elements are nested deeper than ${limits.maxDepth}`);
      if (++elements > limits.maxElements) throw unsafe(`more than ${limits.maxElements} elements`);
      const o: Open = { name: m[0], node: {}, text: '', hasChildren: false, hasAttributes: false };
      let p = NAME.lastIndex;
      for (;;) {
        SPACE.lastIndex = p;
        SPACE.exec(text);
        const spaced = SPACE.lastIndex > p;
        p = SPACE.lastIndex;
        const c = text.charCodeAt(p);
        if (c === 62 /* > */) {
          stack.push(o);
          i = p + 1;
          break;
        }
        if (c === 47 /* / */ && text.charCodeAt(p + 1) === 62) {
          close(o);
          i = p + 2;
          break;
        }
        if (!spaced) malformed(`attributes of <${o.name}> must be separated by white space`, p);
        ATTRIBUTE.lastIndex = p;
        const a = ATTRIBUTE.exec(text);
        if (a === null) return malformed(`a bad attribute in <${o.name}>`, p);
        const key = `@${a[1]}`;
        if (key in o.node) malformed(`attribute ${a[1]} twice in <${o.name}>`, p);
        const value = a[2] ?? a[3] ?? '';
        if (value.includes('&')) {
          const bad = /&(?!(?:lt|gt|amp|quot|apos|#\d{1,7}|#x[0-9a-fA-F]{1,6});)/.exec(value);
          if (bad !== null) throw unsafe(`entity reference in attribute ${a[1]} is not one of XML's predefined entities`);
        }
        o.node[key] = value;
        o.hasAttributes = true;
        p = ATTRIBUTE.lastIndex;
      }
    }
  }
  if (stack.length > 0) malformed(`<${(stack[stack.length - 1] as Open).name}> is never closed`, text.length);
  if (roots === 0) malformed('no root element', 0);
  return doc;
}
