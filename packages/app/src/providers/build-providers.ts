import type { Limiters } from '@signalbox/connectors';
import type { ChannelProvider, CompiledRuleset } from '@signalbox/engine';
import type { DescribeTemplate } from './outbound.js';
import type { ProviderSettings } from './provider-settings.js';
import { ProviderHealth } from './router/provider-health.js';
import { ProviderRouter } from './router/provider-router.js';
import { parseRoutes } from './router/routes.js';
import { SmtpProvider } from './smtp/smtp-provider.js';
import { TelerivetProvider } from './telerivet/telerivet-provider.js';
import { TwilioProvider } from './twilio/twilio-provider.js';

/** What a message without rendered content says: its template's description from the ruleset. */
export function describeFrom(ruleset: () => CompiledRuleset): DescribeTemplate {
  return (template) => {
    const t = template !== null ? ruleset().source.templates[template] : undefined;
    return {
      description: t?.description ?? (template !== null ? template.replace(/[_-]+/g, ' ') : 'A message for you'),
      marketing: t?.messageType === 'promotional',
    };
  };
}

/**
 * The configured providers, by name, and (with routes) the router that takes the plan's default
 * provider's place: the channel and market decide which of them serves a message.
 */
export function buildProviders(
  s: ProviderSettings,
  d: {
    sandbox: ChannelProvider;
    ruleset: () => CompiledRuleset;
    publicUrl: () => string;
    now: () => number;
    /** Where the senders' limits live (shared by every instance through Redis in production). */
    limiters?: Limiters;
  },
): ChannelProvider[] {
  const describe = describeFrom(d.ruleset);
  const publicUrl = s.publicUrl ?? d.publicUrl;
  const real: ChannelProvider[] = [
    ...(s.twilio ? [new TwilioProvider({ ...s.twilio, publicUrl }, describe, d.limiters)] : []),
    ...(s.telerivet ? [new TelerivetProvider({ ...s.telerivet, publicUrl }, describe, d.limiters)] : []),
    ...(s.smtp ? [new SmtpProvider({ ...s.smtp, publicUrl }, describe, d.limiters)] : []),
  ];
  if (s.routes === undefined || s.routes.trim() === '') return real;
  const router = new ProviderRouter(d.sandbox.name, {
    routes: parseRoutes(s.routes),
    providers: new Map([...real, d.sandbox].map((p) => [p.name, p])),
    fallback: d.sandbox,
    health: new ProviderHealth(d.now),
  });
  return [...real, router];
}

/** Stops what providers hold open (limiters, SMTP connections). */
export async function stopProviders(list: Iterable<ChannelProvider>): Promise<void> {
  await Promise.all([...list].map((p) => (p as { stop?: () => Promise<void> }).stop?.()));
}
