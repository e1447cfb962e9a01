export { type ConsentDefaults, ConsentState, foldConsent } from './consent/fold.js';
export type * from './content/rendered.js';
export { smsSegments } from './content/segments.js';
export { languageChain, type SelectedVariant, selectVariant, templateKindFor } from './content/select.js';
export * from './content/template-schema.js';
export { DEFAULT_RULESET } from './default-ruleset.js';
export {
  EngineInputError,
  JourneyStateError,
  type Problem,
  pointerSegment,
  RulesetInvalidError,
  SignalboxError,
  toPointer,
} from './errors.js';
export { mapEventType } from './events/map-event.js';
export { advance, eventsOfInterest, instanceKey, journeysTriggeredBy, startJourney } from './journeys/advance.js';
export * from './model/consent.js';
export * from './model/contact.js';
export * from './model/context.js';
export type * from './model/decision.js';
export * from './model/event.js';
export type * from './model/journey.js';
export * from './model/message.js';
export * from './model/vocabulary.js';
export {
  assemble,
  decide,
  decideParsed,
  decideWithReference,
  fireCompiled,
  type Instant,
  parseDecisionContext,
  parseMessageRequest,
  toEpoch,
} from './pipeline/decide.js';
export type { ContentFacts } from './pipeline/draft.js';
export { bestHourOf, buildFacts, contactZone } from './pipeline/facts.js';
export type * from './ports.js';
export { compileCondition } from './rules/compile-condition.js';
export { OPERATOR_NAMES, OPERATORS } from './rules/operators.js';
export { ReferenceEngines } from './rules/reference-engine.js';
export { type CompiledRule, type CompiledRuleset, loadRuleset, prototypeKeys, validateRuleset } from './ruleset/compile.js';
export { FACT_CATALOGUE } from './ruleset/fact-catalogue.js';
export { journeyLoopProblems, MIN_MINUTES_PER_LOOPED_SEND } from './ruleset/journey-loops.js';
export { rulesetJsonSchema } from './ruleset/json-schema.js';
export * from './ruleset/schema.js';
export { STAGE_EFFECTS } from './ruleset/validate.js';
export { zodProblems } from './ruleset/zod-problems.js';
export { inWindow, isValidTimeZone, localTime, nextAllowed, offsetMinutes, zonedInstant } from './time/zoned.js';
