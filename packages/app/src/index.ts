export { resolveApiKeys } from './api-keys.js';
export { type Clock, systemClock, TestClock } from './clock.js';
export { type ApiKey, type Config, ConfigError, loadConfig, type Role } from './config.js';
export { type AppDeps, createApp } from './http/app.js';
export { createLogger, REDACT_PATHS } from './logger.js';
export { loadRulesetFile, readJsonFile } from './ruleset-source.js';
