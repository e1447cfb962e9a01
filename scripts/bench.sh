#!/usr/bin/env bash
# pnpm bench: the embedded profile's benchmarks (engine, then app).
# pnpm bench --production: the production profile's (real PostgreSQL; Redis when REDIS_URL is set).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = "--production" ]; then
  pnpm build # the instances run what `pnpm start:prod` runs: the compiled app
  pnpm --filter @signalbox/app exec tsx bench/limits.bench.ts
  exec pnpm --filter @signalbox/app exec tsx bench/production.bench.ts
fi
pnpm --filter @signalbox/engine bench
pnpm --filter @signalbox/app bench
