#!/usr/bin/env bash
# Brings the whole system up on local defaults: installs what is missing, builds, starts Milvus Lite and the
# four services, ingests the sample corpus and prints a search command. Ctrl-C stops everything.
set -euo pipefail
export TURBO_TELEMETRY_DISABLED=1
cd "$(dirname "$0")/.."

node -e 'const [a,b]=process.versions.node.split(".").map(Number); if (a<20||(a===20&&b<19)) { console.error("Node >= 20.19 is needed, found "+process.versions.node); process.exit(1) }'
if [ ! -d node_modules/.pnpm ] || [ pnpm-lock.yaml -nt node_modules/.modules.yaml ]; then
  echo "==> installing dependencies"
  pnpm install --frozen-lockfile
fi
echo "==> preparing Milvus Lite"
bash scripts/milvus-venv.sh
echo "==> building"
pnpm exec turbo run build --output-logs=errors-only
exec node scripts/local-stack.mjs "$@"
