import type { ChannelKind, ContentVariant } from '../model/vocabulary.js';
import type { Template } from '../ruleset/schema.js';
import type { TemplateKind, VariantOf } from './template-schema.js';

/**
 * The template kind a channel renders for the variant the plan chose: email channels take the
 * template's email part; every other channel its variant.
 */
export function templateKindFor(channelKind: ChannelKind, variant: ContentVariant): TemplateKind {
  return channelKind === 'email' ? 'email' : variant;
}

/**
 * Languages tried for a contact, best first: the locale as given (`pt-BR`, `sw_KE` normalised to
 * `sw-KE`), its base language (`pt`), then the template's fallback language.
 */
export function languageChain(locale: string | undefined, fallback: string): string[] {
  const chain: string[] = [];
  if (locale !== undefined && locale !== '') {
    const [lang, region] = locale.replace('_', '-').split('-') as [string, string | undefined];
    const base = lang.toLowerCase();
    if (region !== undefined && region !== '') chain.push(`${base}-${region.toUpperCase()}`);
    chain.push(base);
  }
  if (!chain.includes(fallback)) chain.push(fallback);
  return chain;
}

export interface SelectedVariant<K extends TemplateKind = TemplateKind> {
  kind: K;
  language: string;
  variant: VariantOf<K>;
  /** True when the contact's own language had no variant and a later one in the chain was used. */
  fellBack: boolean;
}

/**
 * What a kind falls back to when a template does not have it: a channel shows the richest variant
 * the template has among those it can show. Voice and email never fall back (a script is written
 * for the ear, an email has a subject).
 */
export const KIND_FALLBACKS: Record<TemplateKind, readonly TemplateKind[]> = {
  rich: ['rich', 'text+link', 'text'],
  'text+link': ['text+link', 'text'],
  text: ['text'],
  'ussd-menu': ['ussd-menu', 'text'],
  voice: ['voice'],
  email: ['email'],
};

/**
 * The variant of `kind` (or of what it falls back to) in the first language of the chain the
 * template has. Null when the template has none of them.
 */
export function selectVariant(template: Template, kind: TemplateKind, locale: string | undefined): SelectedVariant | null {
  const content = template.content;
  if (content === undefined) return null;
  const kinds = KIND_FALLBACKS[kind];
  const chain = languageChain(locale, template.fallbackLanguage);
  for (const k of kinds) {
    const byLanguage = content[k] as Record<string, VariantOf<typeof k>> | undefined;
    if (byLanguage === undefined) continue;
    for (let i = 0; i < chain.length; i++) {
      const language = chain[i] as string;
      // the template's own languages only: a locale `constructor` is no language of it
      const variant = Object.hasOwn(byLanguage, language) ? byLanguage[language] : undefined;
      if (variant !== undefined) return { kind: k, language, variant, fellBack: i > 0 && !isBaseOf(chain[0], language) } as SelectedVariant;
    }
  }
  return null;
}

function isBaseOf(tag: string | undefined, language: string): boolean {
  return tag !== undefined && tag.split('-')[0] === language;
}
