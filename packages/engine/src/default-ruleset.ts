import document from '../rulesets/default.json' with { type: 'json' };

/** The default ruleset document shipped with the engine (the seeds' channel strategy). */
export const DEFAULT_RULESET: unknown = document;
