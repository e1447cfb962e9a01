import {
  type ChannelKind,
  type CompiledRuleset,
  type ContentFacts,
  type ContentVariant,
  contactZone,
  isValidTimeZone,
  type MessageRequest,
  type RenderedContent,
  type SelectedVariant,
  selectVariant,
  smsSegments,
  type Template,
  type TemplateKind,
  templateKindFor,
  type VariantOf,
} from '@signalbox/engine';
import { LiquidTemplates } from './liquid.js';
import { type ContentContact, contentScope } from './scope.js';

export type RenderOutcome =
  | { ok: true; rendered: RenderedContent; language: string; kind: TemplateKind; fellBack: boolean }
  | { ok: false; reason: string };

/**
 * The target with the contact's time zone as decisions take it (its market's when it has none):
 * `| local` shows an instant in it, and a contact without a zone of its own (most CRM contacts)
 * failed every render of a template that shows one.
 */
function zoned(rs: CompiledRuleset, target: RenderTarget): RenderTarget {
  if (target.contact.timezone !== undefined && isValidTimeZone(target.contact.timezone)) return target;
  return { ...target, contact: { ...target.contact, timezone: contactZone(target.contact, rs).zone } };
}

export interface RenderTarget {
  request: Pick<MessageRequest, 'template' | 'variables' | 'object' | 'purpose' | 'type'>;
  contact: ContentContact;
  /** The CRM object's snapshot, when the caller has it. */
  object?: Record<string, unknown>;
}

/**
 * Renders a ruleset template's content for one channel: the variant the plan chose, in the first
 * language of the contact's chain the template has, through strict Liquid (a missing variable
 * refuses the render with the reason; nothing is sent with a hole in it).
 */
export class ContentRenderer {
  private readonly text = new LiquidTemplates();
  /** Email HTML: variables are HTML-escaped on output. */
  private readonly html = new LiquidTemplates({ escape: true });

  /** The template a request names, when the ruleset gives it content. */
  templateOf(rs: CompiledRuleset, request: Pick<MessageRequest, 'template'>): Template | null {
    const t = request.template === undefined ? undefined : rs.source.templates[request.template];
    return t?.content === undefined ? null : t;
  }

  /**
   * What a channel sends: null when the template has no content at all (a ruleset without
   * content: providers get the template name and variables as before).
   */
  forChannel(rs: CompiledRuleset, channel: string, variant: ContentVariant, given: RenderTarget): RenderOutcome | null {
    const template = this.templateOf(rs, given.request);
    const target = zoned(rs, given);
    const cfg = rs.source.channels[channel];
    if (template === null || cfg === undefined) return null;
    let kind = templateKindFor(cfg.kind, variant);
    // a session channel (WhatsApp) gets the variant mapped to its approved template, so the provider can send it outside the window
    if (cfg.sessionWindowHours !== undefined && kind === 'text') {
      const rich = selectVariant(template, 'rich', target.contact.locale);
      if (rich !== null && (rich.variant as VariantOf<'rich'>).whatsappTemplate !== undefined) kind = 'rich';
    }
    return this.render(template, target.request.template as string, kind, cfg.kind, target);
  }

  /** One kind of a template, rendered for the target (the preview renders every kind). */
  render(template: Template, name: string, kind: TemplateKind, channelKind: ChannelKind | null, target: RenderTarget): RenderOutcome {
    const selected = selectVariant(template, kind, target.contact.locale);
    if (selected === null) return { ok: false, reason: `template ${name} has no ${kind} content` };
    const vars = target.request.variables ?? {};
    const missing = template.variables.filter((v) => vars[v] === undefined);
    if (missing.length > 0)
      return { ok: false, reason: `template ${name} needs variable${missing.length > 1 ? 's' : ''} ${missing.join(', ')}` };
    const scope = contentScope(target.request, target.contact, target.object);
    try {
      const rendered = this.build(selected, scope, target.request.purpose === 'marketing' || target.request.type === 'promotional');
      // a rich variant on a plain-text route is its fallback text
      const out = channelKind === 'sms' && rendered.kind === 'rich' ? textOf(rendered.fallbackText) : rendered;
      return { ok: true, rendered: out, language: selected.language, kind: selected.kind, fellBack: selected.fellBack };
    } catch (e) {
      return { ok: false, reason: `template ${name} (${selected.kind}, ${selected.language}): ${(e as Error).message}` };
    }
  }

  /** The SMS segments of the template's text variants for this contact: what the cost stage prices. */
  facts(rs: CompiledRuleset, given: RenderTarget): ContentFacts | null {
    const template = this.templateOf(rs, given.request);
    if (template === null) return null;
    const target = zoned(rs, given);
    const segments: ContentFacts['segments'] = {};
    const name = target.request.template as string;
    const text = this.render(template, name, 'text', 'sms', target);
    if (text.ok && text.rendered.kind === 'text') segments.text = text.rendered.segments;
    // a template without a link version sends its text in its place: rendered once
    const link = template.content?.['text+link'] === undefined ? text : this.render(template, name, 'text+link', 'sms', target);
    if (link.ok && link.rendered.kind === 'text') segments['text+link'] = link.rendered.segments;
    return segments.text === undefined && segments['text+link'] === undefined ? null : { segments };
  }

  private build(s: SelectedVariant, scope: Record<string, unknown>, marketing: boolean): RenderedContent {
    const r = (source: string) => this.text.render(source, scope);
    switch (s.kind) {
      case 'text':
        return textOf(r((s.variant as VariantOf<'text'>).text));
      case 'text+link': {
        const v = s.variant as VariantOf<'text+link'>;
        return textOf(`${r(v.text)} ${r(v.link)}`);
      }
      case 'rich': {
        const v = s.variant as VariantOf<'rich'>;
        const body = r(v.body);
        const out: Extract<RenderedContent, { kind: 'rich' }> = {
          kind: 'rich',
          body,
          fallbackText: v.fallbackText === undefined ? body : r(v.fallbackText),
        };
        if (v.buttons !== undefined) out.buttons = v.buttons.map((b) => ({ id: b.id, title: r(b.title) }));
        if (v.mediaUrl !== undefined) out.mediaUrl = v.mediaUrl;
        if (v.whatsappTemplate !== undefined)
          out.whatsappTemplate = {
            name: v.whatsappTemplate.name,
            language: v.whatsappTemplate.language,
            parameters: v.whatsappTemplate.parameters.map(r),
          };
        return out;
      }
      case 'voice': {
        const v = s.variant as VariantOf<'voice'>;
        return { kind: 'voice', script: r(v.script), language: s.language, ...(v.voice === undefined ? {} : { voice: v.voice }) };
      }
      case 'ussd-menu': {
        const v = s.variant as VariantOf<'ussd-menu'>;
        return { kind: 'ussd-menu', text: r(v.text), options: v.options.map((o) => ({ key: o.key, label: r(o.label) })) };
      }
      case 'email': {
        const v = s.variant as VariantOf<'email'>;
        return { kind: 'email', subject: r(v.subject), html: this.html.render(v.html, scope), text: r(v.text), marketing };
      }
    }
  }
}

function textOf(text: string): RenderedContent {
  return { kind: 'text', text, segments: smsSegments(text) };
}
