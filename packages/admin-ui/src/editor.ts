import { json, jsonParseLinter } from '@codemirror/lang-json';
import { ensureSyntaxTree } from '@codemirror/language';
import { type Diagnostic, forceLinting, linter, lintGutter } from '@codemirror/lint';
import { StateEffect, StateField } from '@codemirror/state';
import { EditorView, type ViewUpdate } from '@codemirror/view';
import { basicSetup } from 'codemirror';
import { handleRefresh, jsonCompletion, jsonSchemaLinter, stateExtensions } from 'codemirror-json-schema';
import { jsonPointerRanges, type PointerRange } from './json-pointers';
import { lintTheme } from './lint-theme';

type JSONSchema7 = NonNullable<Parameters<typeof stateExtensions>[0]>;

/** The server's problems, set by a save. */
const setServerProblems = StateEffect.define<Diagnostic[]>();

/**
 * The server's problems as one more lint source. CodeMirror's lint state holds one list, which
 * every run of the linters replaces; problems dispatched beside them (setDiagnostics) were wiped
 * by the next run of the schema linter. Kept here, they are part of every run: moved with edits
 * around them, dropped when the text they point at is edited.
 */
const serverProblems = StateField.define<Diagnostic[]>({
  create: () => [],
  update(value, tr) {
    for (const e of tr.effects) if (e.is(setServerProblems)) return e.value;
    if (!tr.docChanged || value.length === 0) return value;
    return value
      .filter((d) => !tr.changes.touchesRange(d.from, d.to))
      .map((d) => ({ ...d, from: tr.changes.mapPos(d.from, 1), to: tr.changes.mapPos(d.to, -1) }));
  },
});

const serverProblemsChanged = (u: ViewUpdate) => u.transactions.some((tr) => tr.effects.some((e) => e.is(setServerProblems)));

/**
 * The ruleset editor: CodeMirror 6 with the published JSON Schema (validation and completion as
 * you type, from our own bundle), and the server's problems shown at their JSON pointers.
 */
export class RulesetEditor {
  readonly view: EditorView;

  constructor(parent: HTMLElement, schema: JSONSchema7, text: string, label: string) {
    this.view = new EditorView({
      parent,
      doc: text,
      extensions: [
        basicSetup,
        json(),
        serverProblems,
        linter(jsonParseLinter(), { delay: 300 }),
        linter(jsonSchemaLinter(), { delay: 300, needsRefresh: handleRefresh }),
        linter((view) => view.state.field(serverProblems), { delay: 300, needsRefresh: serverProblemsChanged }),
        lintGutter(),
        lintTheme,
        json().language.data.of({ autocomplete: jsonCompletion() }),
        stateExtensions(schema),
        EditorView.contentAttributes.of({ 'aria-label': label }),
        // the page's Content-Security-Policy allows our one style element by this answer's nonce
        EditorView.cspNonce.of(document.querySelector('meta[name="csp-nonce"]')?.getAttribute('content') ?? ''),
      ],
    });
    this.labelScroller(label);
  }

  /** The scrolling region is reachable by keyboard (and named) too. */
  private labelScroller(label: string): void {
    this.view.scrollDOM.tabIndex = 0;
    this.view.scrollDOM.setAttribute('aria-label', `${label} (scroll)`);
  }

  get text(): string {
    return this.view.state.doc.toString();
  }

  set text(t: string) {
    this.view.dispatch({ changes: { from: 0, to: this.view.state.doc.length, insert: t } });
  }

  /**
   * Marks each problem at its pointer (`/document` prefix dropped) and scrolls the first into view
   * (CodeMirror draws only the lines in view: a mark elsewhere is not on the page); returns how
   * many it marked.
   */
  showProblems(problems: ReadonlyArray<{ path: string; message: string }>): number {
    // the whole document parsed (a long one just pasted may be parsed only around the view yet)
    if (ensureSyntaxTree(this.view.state, this.view.state.doc.length, 2000) !== null) this.view.dispatch({});
    const pointers = jsonPointerRanges(this.view.state);
    const diagnostics = problems.map((p) => place(pointers, p, this.view.state.doc.length));
    const first = diagnostics.reduce<Diagnostic | undefined>((a, d) => (a === undefined || d.from < a.from ? d : a), undefined);
    this.view.dispatch({
      effects: [
        setServerProblems.of(diagnostics),
        ...(first !== undefined ? [EditorView.scrollIntoView(first.from, { y: 'center' })] : []),
      ],
    });
    // run the linters now (the server's problems with them) rather than after their delay
    forceLinting(this.view);
    return diagnostics.length;
  }
}

/**
 * A problem at its pointer, or at the nearest enclosing value the document has (a missing
 * property is reported on its parent): a scalar is marked whole, an object or array from its key to its bracket.
 */
function place(pointers: Map<string, PointerRange>, p: { path: string; message: string }, length: number): Diagnostic {
  let ptr = p.path.replace(/^\/document/, '');
  while (ptr !== '' && !pointers.has(ptr)) ptr = ptr.slice(0, ptr.lastIndexOf('/'));
  const at = pointers.get(ptr);
  const [from, to] =
    at === undefined ? [0, Math.min(1, length)] : at.container ? [at.keyFrom, at.valueFrom + 1] : [at.valueFrom, at.valueTo];
  return { from, to, severity: 'error', message: `${p.path.replace(/^\/document/, '') || '/'}: ${p.message}`, source: 'server' };
}
