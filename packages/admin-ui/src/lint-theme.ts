import { EditorView } from '@codemirror/view';

/**
 * @codemirror/lint draws its underlines and gutter markers with data: SVG images, which the
 * console's Content-Security-Policy (img-src 'self') blocks: the same marks drawn with CSS.
 */
export const lintTheme = EditorView.theme({
  '.cm-lintRange': { backgroundImage: 'none', textDecorationLine: 'underline', textDecorationStyle: 'wavy', textUnderlineOffset: '3px' },
  '.cm-lintRange-error': { backgroundImage: 'none', textDecorationColor: '#d11' },
  '.cm-lintRange-warning': { backgroundImage: 'none', textDecorationColor: '#b36b00' },
  '.cm-lintRange-info': { backgroundImage: 'none', textDecorationColor: '#666' },
  '.cm-lintRange-hint': { backgroundImage: 'none', textDecorationColor: '#44b' },
  '.cm-lint-marker': { content: 'normal', boxSizing: 'border-box', width: '0.9em', height: '0.9em', border: '2px solid' },
  '.cm-lint-marker-error': { content: 'normal', borderRadius: '50%', backgroundColor: '#f87', borderColor: '#d11' },
  '.cm-lint-marker-warning': { content: 'normal', backgroundColor: '#fe8', borderColor: '#b36b00' },
  '.cm-lint-marker-info': { content: 'normal', backgroundColor: '#aaf', borderColor: '#44b' },
});
