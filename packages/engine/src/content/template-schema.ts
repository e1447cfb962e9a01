import { z } from 'zod';

/** A language tag as contacts' locales carry it: `en`, `sw`, `pt-BR`. */
export const languageTag = z.string().regex(/^[a-z]{2,3}(-[A-Z]{2})?$/, 'must be a language tag like en, sw or pt-BR');
/** A variable a template needs from the message request (`{{ amount }}`). */
export const variableName = z.string().regex(/^[a-z][a-zA-Z0-9_]{0,59}$/, 'must be a variable name (a letter, then letters, digits, _)');

const liquid = (max: number) => z.string().min(1).max(max);
const button = z.strictObject({
  id: z.string().regex(/^[A-Z][A-Z0-9_]{0,39}$/, 'must be an upper-case payload like CONFIRM'),
  title: liquid(20),
});

/** Content kinds a template holds: the channel variants, and email. */
export const TEMPLATE_KINDS = ['rich', 'text', 'text+link', 'voice', 'ussd-menu', 'email'] as const;
export type TemplateKind = (typeof TEMPLATE_KINDS)[number];

/** Each variant's fields are Liquid templates over the request's variables, `contact` and `object`. */
export const variantSchemas = {
  rich: z.strictObject({
    body: liquid(1024),
    buttons: z.array(button).min(1).max(3).optional(),
    mediaUrl: z.url().optional(),
    /** What a route without rich support shows; defaults to the body. */
    fallbackText: liquid(1024).optional(),
    /** The provider's approved template: the only thing WhatsApp sends outside the 24 h window. */
    whatsappTemplate: z
      .strictObject({
        name: z.string().regex(/^[a-z0-9_]{1,512}$/, 'must be the approved template name (a-z, 0-9, _)'),
        language: z.string().regex(/^[a-z]{2,3}(_[A-Z]{2})?$/, 'must be a WhatsApp language code like en or pt_BR'),
        /** Values of {{1}}, {{2}}, … in order, each a Liquid template. */
        parameters: z.array(liquid(200)).max(20).default([]),
      })
      .optional(),
  }),
  text: z.strictObject({ text: liquid(1600) }),
  'text+link': z.strictObject({ text: liquid(1400), link: liquid(200) }),
  voice: z.strictObject({ script: liquid(3000), voice: z.string().max(60).optional() }),
  'ussd-menu': z.strictObject({
    text: liquid(160),
    options: z
      .array(z.strictObject({ key: z.string().regex(/^[0-9*#]{1,2}$/, 'must be a keypad key'), label: liquid(40) }))
      .min(1)
      .max(9),
  }),
  email: z.strictObject({ subject: liquid(200), html: liquid(100_000), text: liquid(20_000) }),
} as const;

export type VariantOf<K extends TemplateKind> = z.output<(typeof variantSchemas)[K]>;

/** Per kind, per language. */
export const templateContentSchema = z.strictObject({
  rich: z.record(languageTag, variantSchemas.rich).optional(),
  text: z.record(languageTag, variantSchemas.text).optional(),
  'text+link': z.record(languageTag, variantSchemas['text+link']).optional(),
  voice: z.record(languageTag, variantSchemas.voice).optional(),
  'ussd-menu': z.record(languageTag, variantSchemas['ussd-menu']).optional(),
  email: z.record(languageTag, variantSchemas.email).optional(),
});
export type TemplateContent = z.output<typeof templateContentSchema>;
