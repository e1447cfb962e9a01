import { type Config, ConfigError } from '../config.js';
import { parseRoutes, providersNamed } from './router/routes.js';
import type { SmtpSettings } from './smtp/smtp-provider.js';
import type { TelerivetSettings } from './telerivet/telerivet-provider.js';
import type { TwilioSettings } from './twilio/twilio-provider.js';

/**
 * The real providers this instance sends through, as plain data (it crosses into the worker
 * thread, which builds its own providers from it). Credentials come from the environment
 * (config.ts); without any of them the sandbox serves every channel.
 */
export interface ProviderSettings {
  /** Our public base URL (status callbacks, unsubscribe links); default: where this instance listens. */
  publicUrl?: string | undefined;
  /** `channel[@MARKET]=provider,fail-over;…` (see router/routes.ts); without it the plan's provider is used as named. */
  routes?: string | undefined;
  twilio?: Omit<TwilioSettings, 'publicUrl'> | undefined;
  telerivet?: (Omit<TelerivetSettings, 'publicUrl'> & { webhookSecret: string }) | undefined;
  smtp?: (Omit<SmtpSettings, 'publicUrl'> & { reportSecret: string }) | undefined;
}

/** The names the configured providers go by. */
export function configuredProviders(s: ProviderSettings): string[] {
  return [
    ...(s.twilio ? [s.twilio.name ?? 'twilio'] : []),
    ...(s.telerivet ? [s.telerivet.name ?? 'telerivet'] : []),
    ...(s.smtp ? [s.smtp.name ?? 'smtp'] : []),
  ];
}

/**
 * The provider settings the configuration describes, or undefined when it names none. A provider
 * half configured (an account without its token), or a route naming a provider that is not
 * configured, stops start-up with the variables at fault. `secret(file, value)`: a configured
 * secret, or one generated once into the data directory.
 */
export function providerSettingsFrom(c: Config, secret: (file: string, value: string | undefined) => string): ProviderSettings | undefined {
  const problems: string[] = [];
  const need = (what: string, vars: Record<string, unknown>) => {
    const missing = Object.entries(vars)
      .filter(([, v]) => v === undefined || (Array.isArray(v) && v.length === 0))
      .map(([k]) => k);
    if (missing.length > 0) problems.push(`${what} needs ${missing.join(', ')}`);
    return missing.length === 0;
  };
  const s: ProviderSettings = { ...(c.PUBLIC_URL !== undefined ? { publicUrl: c.PUBLIC_URL } : {}), routes: c.PROVIDER_ROUTES };
  if (
    (c.TWILIO_ACCOUNT_SID !== undefined || c.TWILIO_AUTH_TOKEN !== undefined) &&
    need('Twilio', { TWILIO_ACCOUNT_SID: c.TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN: c.TWILIO_AUTH_TOKEN, TWILIO_SMS_FROM: c.TWILIO_SMS_FROM })
  )
    s.twilio = {
      accountSid: c.TWILIO_ACCOUNT_SID as string,
      authToken: c.TWILIO_AUTH_TOKEN as string,
      apiBase: c.TWILIO_API_BASE,
      smsFrom: c.TWILIO_SMS_FROM,
      whatsappFrom: c.TWILIO_WHATSAPP_FROM,
      voiceFrom: c.TWILIO_VOICE_FROM,
      messagingServiceSid: c.TWILIO_MESSAGING_SERVICE_SID,
      contentSids: c.TWILIO_CONTENT_SIDS,
      mps: c.TWILIO_MPS,
      cps: c.TWILIO_CPS,
      machineDetection: c.TWILIO_MACHINE_DETECTION === 'on',
    };
  if (
    (c.TELERIVET_API_KEY !== undefined || c.TELERIVET_PROJECT_ID !== undefined) &&
    need('Telerivet', { TELERIVET_API_KEY: c.TELERIVET_API_KEY, TELERIVET_PROJECT_ID: c.TELERIVET_PROJECT_ID })
  )
    s.telerivet = {
      apiKey: c.TELERIVET_API_KEY as string,
      projectId: c.TELERIVET_PROJECT_ID as string,
      apiBase: c.TELERIVET_API_BASE,
      routeId: c.TELERIVET_ROUTE_ID,
      chatRoutes: c.TELERIVET_CHAT_ROUTES,
      statusSecret: secret('telerivet-status-secret', c.TELERIVET_STATUS_SECRET),
      webhookSecret: secret('telerivet-webhook-secret', c.TELERIVET_WEBHOOK_SECRET),
      perSecond: c.TELERIVET_PER_SECOND,
    };
  if (c.SMTP_URL !== undefined && need('SMTP', { SMTP_FROM: c.SMTP_FROM }))
    s.smtp = {
      url: c.SMTP_URL,
      from: c.SMTP_FROM as string,
      unsubscribeSecret: secret('email-unsubscribe-secret', c.EMAIL_UNSUBSCRIBE_SECRET),
      reportSecret: secret('email-reports-secret', c.EMAIL_REPORTS_SECRET),
      unsubscribeMailto: c.EMAIL_UNSUBSCRIBE_MAILTO,
      perSecond: c.SMTP_PER_SECOND,
    };
  if (s.routes !== undefined) {
    try {
      const known = new Set(['sandbox', ...configuredProviders(s)]);
      for (const name of providersNamed(parseRoutes(s.routes)))
        if (!known.has(name)) problems.push(`PROVIDER_ROUTES names ${name}, which is not configured`);
    } catch (e) {
      problems.push(`PROVIDER_ROUTES: ${(e as Error).message}`);
    }
  }
  if (problems.length > 0) throw new ConfigError(`invalid configuration:\n${problems.map((p) => `  ${p}`).join('\n')}`);
  return s.twilio || s.telerivet || s.smtp || s.routes ? s : undefined;
}
