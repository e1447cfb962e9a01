import { json, jsonParseLinter } from '@codemirror/lang-json';
import { type Diagnostic, linter, lintGutter, setDiagnostics } from '@codemirror/lint';
import { EditorView } from '@codemirror/view';
import { basicSetup } from 'codemirror';
import { getJsonPointers, handleRefresh, jsonCompletion, jsonSchemaLinter, stateExtensions } from 'codemirror-json-schema';

type JSONSchema7 = NonNullable<Parameters<typeof stateExtensions>[0]>;

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
        linter(jsonParseLinter(), { delay: 300 }),
        linter(jsonSchemaLinter(), { delay: 300, needsRefresh: handleRefresh }),
        lintGutter(),
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

  /** Marks each problem at its pointer (`/document` prefix dropped); returns the ones it could place. */
  showProblems(problems: ReadonlyArray<{ path: string; message: string }>): number {
    const pointers = getJsonPointers(this.view.state, 'json4');
    const diagnostics: Diagnostic[] = [];
    for (const p of problems) {
      let ptr = p.path.replace(/^\/document/, '');
      // the nearest enclosing value the document has (a missing property is reported on its parent)
      while (ptr !== '' && !pointers.has(ptr)) ptr = ptr.slice(0, ptr.lastIndexOf('/'));
      const at = pointers.get(ptr) as { keyFrom?: number; keyTo?: number; valueFrom?: number; valueTo?: number } | undefined;
      const from = at?.keyFrom ?? at?.valueFrom ?? 0;
      const to = at?.valueTo ?? at?.keyTo ?? Math.min(1, this.view.state.doc.length);
      diagnostics.push({
        from,
        to,
        severity: 'error',
        message: `${p.path.replace(/^\/document/, '') || '/'}: ${p.message}`,
        source: 'server',
      });
    }
    this.view.dispatch(setDiagnostics(this.view.state, diagnostics));
    return diagnostics.length;
  }
}
