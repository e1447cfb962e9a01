import { syntaxTree } from '@codemirror/language';
import type { EditorState } from '@codemirror/state';
import type { SyntaxNode } from '@lezer/common';

/** Where a JSON pointer's value is in the text, and its property name's start (the value's own start for the root and array items). */
export interface PointerRange {
  keyFrom: number;
  valueFrom: number;
  valueTo: number;
  /** an object or an array (marked at its key, not over every line it spans) */
  container: boolean;
}

const VALUES = new Set(['Object', 'Array', 'String', 'Number', 'True', 'False', 'Null']);

/**
 * Every JSON pointer of the document with its range, read from the syntax tree. (Our own walk:
 * codemirror-json-schema's getJsonPointers takes a property name's next sibling for its value,
 * which in @lezer/json 1.0.3's tree is the ":" token, so a value's range ended at the colon.)
 */
export function jsonPointerRanges(state: EditorState): Map<string, PointerRange> {
  const out = new Map<string, PointerRange>();
  const root = valueChild(syntaxTree(state).topNode);
  if (root !== null) walk(state, root, '', root.from, out);
  return out;
}

function valueChild(node: SyntaxNode): SyntaxNode | null {
  for (let c = node.lastChild; c !== null; c = c.prevSibling) if (VALUES.has(c.name)) return c;
  return null;
}

function walk(state: EditorState, node: SyntaxNode, pointer: string, keyFrom: number, out: Map<string, PointerRange>): void {
  const container = node.name === 'Object' || node.name === 'Array';
  out.set(pointer, { keyFrom, valueFrom: node.from, valueTo: node.to, container });
  if (node.name === 'Object') {
    for (let p = node.firstChild; p !== null; p = p.nextSibling) {
      if (p.name !== 'Property') continue;
      const name = p.getChild('PropertyName');
      const value = valueChild(p);
      const key = name === null ? null : propertyName(state.sliceDoc(name.from, name.to));
      if (name !== null && value !== null && key !== null) walk(state, value, `${pointer}/${escapeKey(key)}`, name.from, out);
    }
  } else if (node.name === 'Array') {
    let i = 0;
    for (let c = node.firstChild; c !== null; c = c.nextSibling) if (VALUES.has(c.name)) walk(state, c, `${pointer}/${i++}`, c.from, out);
  }
}

function propertyName(quoted: string): string | null {
  try {
    const v: unknown = JSON.parse(quoted);
    return typeof v === 'string' ? v : null;
  } catch {
    return null;
  }
}

const escapeKey = (key: string) => key.replace(/~/g, '~0').replace(/\//g, '~1');
