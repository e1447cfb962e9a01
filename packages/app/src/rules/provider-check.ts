import { type Problem, pointerSegment, type Ruleset } from '@signalbox/engine';

/**
 * What the engine's schema cannot check about a channel, because it takes the deployment: the
 * provider each channel names is one this deployment has (the sandbox, the providers configured
 * in its environment, the router taking the sandbox's name when routes are set). A channel naming
 * another would fail every send on it with "provider … is not configured". `known` undefined:
 * nothing to check against (a tool without the deployment's settings).
 */
export function providerProblems(rs: Ruleset, known: ReadonlySet<string> | undefined): Problem[] {
  if (known === undefined) return [];
  const have = [...known].sort().join(', ');
  return Object.entries(rs.channels)
    .filter(([, c]) => !known.has(c.provider))
    .map(([name, c]) => ({
      path: `/channels/${pointerSegment(name)}/provider`,
      message: `provider "${c.provider}" is not configured on this deployment (it has ${have})`,
    }));
}
