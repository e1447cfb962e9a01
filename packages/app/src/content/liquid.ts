import { Liquid, type Template } from 'liquidjs';

const formats = new Map<string, Intl.DateTimeFormat>();

/** How a contact reads an instant: "Thu 26 Nov, 10:00" in their zone (the scope's `contact.timezone`, else UTC). */
export function localInstant(value: unknown, zone: string): string {
  const at = typeof value === 'number' ? value : Date.parse(String(value));
  if (!Number.isFinite(at)) throw new Error(`not an instant: ${String(value).slice(0, 40)}`);
  let f = formats.get(zone);
  if (f === undefined) {
    // one formatter per zone (building one costs far more than formatting with it)
    f = new Intl.DateTimeFormat('en-GB', {
      timeZone: zone,
      weekday: 'short',
      day: 'numeric',
      month: 'short',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
    });
    if (formats.size > 500) formats.clear();
    formats.set(zone, f);
  }
  return f.format(at);
}

/**
 * The one Liquid engine: no file system, no includes, strict variables and filters (a missing
 * variable throws; `default` as the first filter is the author's explicit stand-in), own
 * properties only (no prototype walks). Parsed templates are kept by source text.
 */
export class LiquidTemplates {
  private readonly liquid: Liquid;
  private readonly parsed = new Map<string, Template[]>();

  constructor(o: { escape?: boolean } = {}) {
    this.liquid = new Liquid({
      ...(o.escape === true ? { outputEscape: 'escape' as const } : {}),
      strictVariables: true,
      strictFilters: true,
      lenientIf: true,
      ownPropertyOnly: true,
      relativeReference: false,
      fs: {
        exists: () => Promise.resolve(false),
        existsSync: () => false,
        readFile: () => Promise.reject(new Error('templates cannot include files')),
        readFileSync: () => {
          throw new Error('templates cannot include files');
        },
        resolve: (_dir: string, file: string) => file,
      },
      renderLimit: 50,
      parseLimit: 200_000,
      memoryLimit: 10_000_000,
    });
    // a template is self-contained: what would read another file or template is refused as it is
    // parsed, by name (not as a failed lookup of a file that cannot exist)
    for (const tag of ['include', 'render', 'layout'])
      this.liquid.registerTag(tag, {
        parse() {
          throw new Error(`{% ${tag} %} is not available: a template's content cannot take in other files or templates`);
        },
        render() {
          return '';
        },
      });
    this.liquid.registerFilter('local', function (this: { context: { getSync(path: string[]): unknown } }, value: unknown) {
      const zone = this.context.getSync(['contact', 'timezone']);
      return localInstant(value, typeof zone === 'string' ? zone : 'UTC');
    });
  }

  /** Parses (once per source text); throws a LiquidError on bad syntax. */
  parse(source: string): Template[] {
    let t = this.parsed.get(source);
    if (t === undefined) {
      t = this.liquid.parse(source);
      if (this.parsed.size >= 10_000) this.parsed.clear();
      this.parsed.set(source, t);
    }
    return t;
  }

  /**
   * Renders (synchronously). Errors raised meanwhile carry no stack: strict Liquid throws one
   * inside for every `{{ x | default: … }}` whose `x` is missing (the filter catches it), and
   * capturing their stacks was most of what rendering cost; a render that fails is told by its
   * message.
   */
  render(source: string, scope: Record<string, unknown>): string {
    const template = this.parse(source);
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
      return this.liquid.renderSync(template, scope) as string;
    } finally {
      Error.stackTraceLimit = limit;
    }
  }

  /** The variable roots a template reads from its scope (`amount`, `contact`, `object`). */
  roots(source: string): string[] {
    const out = new Set<string>();
    for (const segments of this.liquid.globalVariableSegmentsSync(this.parse(source))) {
      const first = segments[0];
      if (typeof first === 'string') out.add(first);
    }
    return [...out];
  }
}
