/**
 * A script's language and voice as Twilio's `<Say>` takes them. Templates name a language as the
 * contact's locale does (`en`, `sw-KE`) and a voice by kind (`female`, `male`); `<Say>` wants a
 * language with its region (`en-US`; it reads a bare `en` as unsupported on most voices) and a
 * voice it knows (`woman`, `man`, `alice`, or a `Polly.*` / `Google.*` name).
 */
const REGION: Readonly<Record<string, string>> = {
  en: 'en-US',
  fr: 'fr-FR',
  de: 'de-DE',
  es: 'es-ES',
  it: 'it-IT',
  pt: 'pt-BR',
  nl: 'nl-NL',
  sw: 'sw-KE',
  ar: 'ar-XA',
  hi: 'hi-IN',
};

const VOICE: Readonly<Record<string, string>> = { female: 'woman', male: 'man' };

export function twilioSay(v: { language: string; voice?: string | undefined }): { language: string; voice?: string } {
  const [base = '', region] = v.language.split(/[-_]/);
  const language = region !== undefined ? `${base.toLowerCase()}-${region.toUpperCase()}` : (REGION[base.toLowerCase()] ?? v.language);
  const voice = v.voice === undefined ? undefined : (VOICE[v.voice.toLowerCase()] ?? v.voice);
  return voice === undefined ? { language } : { language, voice };
}
