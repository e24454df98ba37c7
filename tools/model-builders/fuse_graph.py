"""Writes the BERT-fused form of an encoder graph (ONNX Runtime's transformers optimiser), if it computes the same.

  python fuse_graph.py --model DIR/model.onnx --out DIR/model-fused.onnx [--tolerance 1e-4] [--report FILE.json]

The optimiser replaces the spelled-out attention, LayerNorm + residual and GELU subgraphs with ONNX Runtime's fused
contrib kernels (Attention / MultiHeadAttention, SkipLayerNormalization, BiasGelu). Both graphs then run on a few
batches of random token ids with padding; the fused graph is written (with its weights in an aligned external-data
file) only when every output of it is within the tolerance of the plain graph's, else the tool exits with 3 and
writes nothing. The report says which kernels were fused and the largest difference found."""

import argparse
import json
import os
import sys
import tempfile

import numpy as np
import onnx
import onnxruntime
from onnxruntime.transformers.optimizer import optimize_model

from external_data import save_with_aligned_external_data

FUSED_OPS = ("Attention", "MultiHeadAttention", "SkipLayerNormalization", "LayerNormalization", "BiasGelu",
             "FastGelu", "Gelu", "EmbedLayerNormalization", "SkipSimplifiedLayerNormalization")


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def encoder_shape(model: onnx.ModelProto) -> tuple[int, int]:
    """Heads and hidden size, read from the head-splitting Reshape constants ([0, 0, heads, head_dim])."""
    constants = {tensor.name: tensor for tensor in model.graph.initializer}
    for node in model.graph.node:
        if node.op_type != "Reshape" or node.input[1] not in constants:
            continue
        shape = onnx.numpy_helper.to_array(constants[node.input[1]])
        if shape.ndim == 1 and len(shape) == 4 and shape[2] > 0 and shape[3] > 0:
            return int(shape[2]), int(shape[2] * shape[3])
    raise ValueError("could not find the attention heads (a Reshape to [0, 0, heads, head_dim]); pass --heads and --hidden")


def sample_feeds(session: onnxruntime.InferenceSession, vocab: int, seed: int = 7) -> list[dict]:
    random = np.random.default_rng(seed)
    names = [i.name for i in session.get_inputs()]
    feeds = []
    for batch, length in ((1, 9), (3, 64), (4, 128)):
        ids = random.integers(5, vocab, size=(batch, length), dtype=np.int64)
        ids[:, 0] = 0
        mask = np.ones((batch, length), dtype=np.int64)
        for row in range(1, batch):  # shorter rows, padded
            real = length - 7 * row
            mask[row, real:] = 0
            ids[row, real:] = 1
        feed = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in names:
            feed["token_type_ids"] = np.zeros_like(ids)
        feeds.append(feed)
    return feeds


def largest_difference(plain: str, fused: str, vocab: int) -> float:
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = os.cpu_count() or 1
    a = onnxruntime.InferenceSession(plain, options, providers=["CPUExecutionProvider"])
    b = onnxruntime.InferenceSession(fused, options, providers=["CPUExecutionProvider"])
    if [o.name for o in a.get_outputs()] != [o.name for o in b.get_outputs()]:
        raise ValueError("the fused graph's outputs are not the plain graph's")
    worst = 0.0
    for feed in sample_feeds(a, vocab):
        mask = feed["attention_mask"].astype(bool)
        for x, y in zip(a.run(None, feed), b.run(None, feed)):
            if x.shape != y.shape:
                raise ValueError(f"output shapes differ: {x.shape} and {y.shape}")
            # Token outputs: padding positions are not compared (ColBERT's leave out the first position).
            if x.ndim >= 2 and x.shape[:2] == mask.shape:
                x, y = x[mask], y[mask]
            elif x.ndim >= 2 and x.shape[:2] == (mask.shape[0], mask.shape[1] - 1):
                x, y = x[mask[:, 1:]], y[mask[:, 1:]]
            worst = max(worst, float(np.max(np.abs(x - y))))
    return worst


def vocabulary_size(model: onnx.ModelProto) -> int:
    for node in model.graph.node:
        if node.op_type == "Gather" and "input_ids" in node.input:
            for tensor in model.graph.initializer:
                if tensor.name == node.input[0]:
                    return int(tensor.dims[0])
    return 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="the plain graph")
    parser.add_argument("--out", required=True, help="where to write the fused graph (and OUT.data)")
    parser.add_argument("--tolerance", type=float, default=1e-4)
    parser.add_argument("--heads", type=int)
    parser.add_argument("--hidden", type=int)
    parser.add_argument("--report", help="write what was fused and the largest difference here, as JSON")
    args = parser.parse_args()
    try:
        plain = onnx.load(args.model)
        heads, hidden = (args.heads, args.hidden) if args.heads and args.hidden else encoder_shape(plain)
        vocab = vocabulary_size(plain)
        del plain
        log(f"fusing {args.model} (BERT, {heads} heads, hidden {hidden})")
        optimized = optimize_model(args.model, model_type="bert", num_heads=heads, hidden_size=hidden, opt_level=0,
                                   use_gpu=False)
        counts = {op: 0 for op in FUSED_OPS}
        for node in optimized.model.graph.node:
            if node.op_type in counts:
                counts[node.op_type] += 1
        fused_ops = {op: n for op, n in counts.items() if n > 0}
        log(f"fused kernels: {fused_ops}")
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        with tempfile.TemporaryDirectory(dir=os.path.dirname(os.path.abspath(args.out))) as scratch:
            candidate = os.path.join(scratch, os.path.basename(args.out))
            save_with_aligned_external_data(optimized.model, candidate)
            del optimized
            difference = largest_difference(args.model, candidate, vocab)
            log(f"largest difference from the plain graph: {difference:.3g} (tolerance {args.tolerance:g})")
            report = {"tool": f"onnxruntime.transformers.optimizer {onnxruntime.__version__} (bert)",
                      "fusedKernels": fused_ops, "maxAbsDiff": difference, "tolerance": args.tolerance}
            if args.report:
                with open(args.report, "w", encoding="utf-8") as handle:
                    json.dump(report, handle, indent=2)
            if not difference <= args.tolerance:
                log(f"fuse_graph: the fused graph differs by {difference:.3g} > {args.tolerance:g}; not written")
                return 3
            for name in (os.path.basename(candidate), f"{os.path.basename(candidate)}.data"):
                os.replace(os.path.join(scratch, name), os.path.join(os.path.dirname(os.path.abspath(args.out)), name))
        log(f"wrote {args.out}")
    except Exception as error:  # one clear line for the caller, not a traceback
        log(f"fuse_graph: {error}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
