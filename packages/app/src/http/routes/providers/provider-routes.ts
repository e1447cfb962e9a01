import type { CompiledRuleset, ProviderOutcome } from '@signalbox/engine';
import { applyReportedOutcome } from '../../../delivery/provider-outcomes.js';
import type { HotWrites } from '../../../inbox/hot-writes.js';
import type { Logger } from '../../../logger.js';
import type { ProviderSettings } from '../../../providers/provider-settings.js';
import type { Runtime } from '../../../runtime.js';
import type { ReplayGuard } from '../../../security/replay-guard.js';
import type { RouteSpec } from '../../route-table.js';
import { emailHookRoutes } from './email-hooks.js';
import { telerivetHookRoutes } from './telerivet-hooks.js';
import { twilioHookRoutes } from './twilio-hooks.js';

/** The hooks of the configured real providers (each verifies its provider's own way). */
export function providerRoutes(
  s: Omit<ProviderSettings, 'publicUrl'> & { publicUrl: () => string },
  d: {
    runtime: Runtime;
    ruleset: () => CompiledRuleset;
    writes: HotWrites;
    replay: ReplayGuard;
    log: Logger;
    now: () => number;
    nudge: () => void;
  },
): RouteSpec[] {
  const inbound = () => d.runtime.inbound;
  const outcome = (provider: string, providerMessageId: string, o: ProviderOutcome, error: string) =>
    d.runtime.store.transaction((tx) => applyReportedOutcome(tx, d.ruleset(), { provider, providerMessageId, outcome: o, error }, d.now()));
  return [
    ...(s.twilio
      ? twilioHookRoutes({
          name: s.twilio.name ?? 'twilio',
          authToken: s.twilio.authToken,
          publicUrl: s.publicUrl,
          replay: d.replay,
          writes: d.writes,
          inbound,
          log: d.log,
          now: d.now,
          nudge: d.nudge,
          outcome,
        })
      : []),
    ...(s.telerivet
      ? telerivetHookRoutes({
          name: s.telerivet.name ?? 'telerivet',
          statusSecret: s.telerivet.statusSecret,
          webhookSecret: s.telerivet.webhookSecret,
          chatRoutes: s.telerivet.chatRoutes,
          writes: d.writes,
          inbound,
          log: d.log,
          now: d.now,
          nudge: d.nudge,
        })
      : []),
    ...(s.smtp
      ? emailHookRoutes({
          name: s.smtp.name ?? 'smtp',
          unsubscribeSecret: s.smtp.unsubscribeSecret,
          reportSecret: s.smtp.reportSecret,
          store: d.runtime.store,
          writes: d.writes,
          replay: d.replay,
          log: d.log,
          now: d.now,
        })
      : []),
  ];
}
