#!/usr/bin/env bash
# Creates .venv/milvus, the Python environment that runs Milvus Lite for integration tests and `pnpm start`.
set -euo pipefail
here="$(dirname "${BASH_SOURCE[0]}")"
# milvus-lite imports pymilvus without declaring it, so both are pinned here together.
bash "$here/python-venv.sh" milvus milvus-lite==3.2.2 pymilvus==3.0.2
"$here/../.venv/milvus/bin/python" -c 'import milvus_lite.cmdline, pymilvus' ||
  { echo "milvus-venv: packages installed but milvus_lite does not import" >&2; exit 1; }
