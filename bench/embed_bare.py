"""The bare Python ONNX Runtime session of `pnpm bench:embed`: pre-tokenised texts of one length, fed directly.

  python embed_bare.py --ids IDS.json --model GRAPH.onnx --label NAME --batches 1,32 --seconds S [--threads N]

IDS.json is a list of token-id lists, all of the same length. For each batch size, one session with all cores
(spinning on, as ONNX Runtime ships it, or off) runs the texts in order for S seconds after a short
warm-up; one JSON line per batch size is printed: {"runtime", "graph", "batch", "tokens_per_s", "texts"}."""

import argparse
import json
import os
import sys
import time

import numpy as np
import onnxruntime


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ids", required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--label", required=True)
    parser.add_argument("--batches", default="1,32")
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--output", default="sentence_embedding")
    parser.add_argument("--spinning", choices=("on", "off"), default="on",
                        help="whether idle intra-op threads spin (ONNX Runtime's default: on)")
    args = parser.parse_args()

    with open(args.ids, encoding="utf-8") as handle:
        ids = np.array(json.load(handle), dtype=np.int64)
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = args.threads
    options.inter_op_num_threads = 1
    options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.add_session_config_entry("session.intra_op.allow_spinning", "1" if args.spinning == "on" else "0")
    session = onnxruntime.InferenceSession(args.model, options, providers=["CPUExecutionProvider"])
    inputs = {i.name for i in session.get_inputs()}
    outputs = [args.output] if args.output in {o.name for o in session.get_outputs()} else None

    for batch in (int(b) for b in args.batches.split(",")):
        chunks = [ids[i:i + batch] for i in range(0, len(ids) - batch + 1, batch)]
        feeds = []
        for chunk in chunks:
            feed = {"input_ids": chunk, "attention_mask": np.ones_like(chunk)}
            if "token_type_ids" in inputs:
                feed["token_type_ids"] = np.zeros_like(chunk)
            feeds.append(feed)

        def run_for(seconds: float) -> tuple[int, float]:
            tokens = 0
            started = time.perf_counter()
            deadline = started + seconds
            while True:
                for feed in feeds:
                    session.run(outputs, feed)
                    tokens += feed["input_ids"].size
                    if time.perf_counter() >= deadline:
                        return tokens, time.perf_counter() - started

        run_for(min(2.0, args.seconds / 4))
        tokens, elapsed = run_for(args.seconds)
        print(json.dumps({"runtime": f"python onnxruntime {onnxruntime.__version__}", "graph": args.label,
                          "batch": batch, "tokens_per_s": tokens / elapsed, "texts": len(ids)}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
