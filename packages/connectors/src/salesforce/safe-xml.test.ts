/** The strict XML reader: what it refuses (with which code), and that it reads what it accepts as a general parser would. */
import { XMLParser } from 'fast-xml-parser';
import { describe, expect, it } from 'vitest';
import { OutboundMessageError } from './errors.js';
import { decodeText, readXml, type XmlLimits } from './safe-xml.js';
import { fakeId } from './testing/fake-schema.js';
import { outboundEnvelope } from './testing/outbound-sender.js';

const LIMITS: XmlLimits = { maxBytes: 1024 * 1024, maxDepth: 16, maxElements: 1000 };
const codeOf = (xml: string | Buffer, limits = LIMITS): string => {
  try {
    readXml(xml, limits);
    return 'accepted';
  } catch (e) {
    if (!(e instanceof OutboundMessageError)) throw e;
    return e.code;
  }
};

describe('readXml', () => {
  it('reads what a general parser reads (fast-xml-parser with the options the reader replaced)', () => {
    const reference = new XMLParser({
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
      isArray: (_n, _p, _l, isAttribute) => !isAttribute,
    });
    for (const count of [1, 7, 100]) {
      const xml = outboundEnvelope({
        organizationId: fakeId('00D', 3),
        actionId: fakeId('04k', 3),
        sObjectType: 'Contact',
        sessionId: count === 7 ? 'sess&amp;ion' : null,
        notifications: Array.from({ length: count }, (_, i) => ({
          id: fakeId('04l', i + 1),
          fields: { Id: fakeId('003', i + 1), Description: 'a < b & "c"', Email: null, LastName: `N${i}` },
        })),
      });
      expect(readXml(xml, LIMITS)).toEqual(reference.parse(xml));
    }
    const mixed = '<?xml version="1.0"?><!-- hi --><a x="1" y=\'2\'> t1 <b/><b>two</b><c z="&amp;"/> t2 <?pi data?></a>';
    expect(readXml(mixed, LIMITS)).toEqual(reference.parse(mixed));
  });

  it('keeps references for decodeText, and CDATA escaped the same way', () => {
    const doc = readXml('<a><b>x &amp; y &#65;&#x42;</b><c><![CDATA[1 < 2 & 3]]></c></a>', LIMITS);
    const a = (doc.a as Array<Record<string, string[]>>)[0] as Record<string, string[]>;
    expect(decodeText(a.b?.[0] as string)).toBe('x & y AB');
    expect(decodeText(a.c?.[0] as string)).toBe('1 < 2 & 3');
  });

  it('refuses DTDs, entities of its own, and references to undefined entities', () => {
    expect(codeOf('<!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]><a>&x;</a>')).toBe('XML_UNSAFE');
    expect(codeOf('<?xml version="1.0"?><!doctype a><a/>')).toBe('XML_UNSAFE');
    expect(codeOf('<a><!ELEMENT a ANY></a>')).toBe('XML_UNSAFE');
    expect(codeOf('<a>&nbsp;</a>')).toBe('XML_UNSAFE');
    expect(codeOf('<a b="&x;"/>')).toBe('XML_UNSAFE');
    expect(codeOf(Buffer.from([0x3c, 0x61, 0x3e, 0xff, 0xfe, 0x3c, 0x2f, 0x61, 0x3e]))).toBe('XML_UNSAFE');
  });

  it('holds its limits: size, depth, element count', () => {
    expect(codeOf(`<a>${'x'.repeat(200)}</a>`, { ...LIMITS, maxBytes: 100 })).toBe('OUTBOUND_MESSAGE_TOO_LARGE');
    expect(codeOf(`${'<a>'.repeat(17)}${'</a>'.repeat(17)}`)).toBe('XML_UNSAFE');
    expect(codeOf(`${'<a>'.repeat(16)}${'</a>'.repeat(16)}`)).toBe('accepted');
    expect(codeOf(`<r>${'<e/>'.repeat(1000)}</r>`)).toBe('XML_UNSAFE');
  });

  it('refuses what is not well-formed, saying where', () => {
    for (const bad of [
      '<a><b></a></b>',
      '<a></a><b></b>',
      'text<a/>',
      '<a/>text',
      '<a x="1" x="2"/>',
      '<a x=1/>',
      '<a x="<"/>',
      '<a x="1"y="2"/>',
      '<a>',
      '<a></b>',
      '',
      '<>',
      '< a/>',
      '<a><!-- open</a>',
      '<a><![CDATA[ open</a>',
      '<a>]]></a>',
      '</a>',
    ])
      expect(codeOf(bad), bad).toBe('OUTBOUND_MESSAGE_INVALID');
    try {
      readXml('<a>\n<b>\n</c></a>', LIMITS);
    } catch (e) {
      expect((e as OutboundMessageError).problems[0]?.message).toBe('not well-formed XML: </c> closes <b> (line 3)');
    }
  });
});
