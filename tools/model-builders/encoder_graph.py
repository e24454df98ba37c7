"""Builds an ONNX graph of a BERT / XLM-RoBERTa encoder (post-LayerNorm transformer) directly with onnx.helper,
with no deep-learning framework: the weights are numpy arrays, either fp32 or 4-bit blocks (com.microsoft
MatMulNBits for the linear layers, GatherBlockQuantized for the word embedding).

Heads:
- "mean-pooled": outputs last_hidden_state [batch, seq, hidden] and sentence_embedding [batch, hidden], the mean
  over the attention mask, L2-normalised (E5, sentence-transformers).
- "bge-m3": dense_vecs [batch, hidden] (the first token, L2-normalised), sparse_vecs [batch, seq, 1]
  (ReLU(linear hidden -> 1)), colbert_vecs [batch, seq - 1, hidden] (linear hidden -> hidden on every token but
  the first; the service masks and normalises them), as BGE-M3's ONNX exports name them.
"""

import math
import os
from dataclasses import dataclass, field

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from external_data import ALIGNMENT, MIN_EXTERNAL_BYTES

OPSET = 18
MS_DOMAIN = "com.microsoft"
Q4_BLOCK = 32


@dataclass
class EncoderConfig:
    layers: int
    hidden: int
    heads: int
    ffn: int
    vocab: int
    max_positions: int
    eps: float
    # "absolute": position i is row i (BERT). "roberta": positions count the real tokens from padding_idx + 1,
    # padding gets padding_idx (RoBERTa / XLM-R).
    positions: str = "absolute"
    padding_idx: int = 1
    head: str = "mean-pooled"


@dataclass
class Linear:
    """y = x W^T + b, with W [out, in]. Either `weight` (fp32) or `codes` + `scales` (4-bit: value = (code - 8) *
    scale per block of 32 along `in`)."""

    bias: np.ndarray
    weight: np.ndarray | None = None
    codes: np.ndarray | None = None
    scales: np.ndarray | None = None


@dataclass
class Embedding:
    """A [rows, hidden] table: `table` (fp32) or `codes` + `scales` like Linear (4-bit blocks along hidden)."""

    table: np.ndarray | None = None
    codes: np.ndarray | None = None
    scales: np.ndarray | None = None


@dataclass
class Layer:
    query: Linear
    key: Linear
    value: Linear
    attention_output: Linear
    attention_norm: tuple[np.ndarray, np.ndarray]
    intermediate: Linear
    output: Linear
    output_norm: tuple[np.ndarray, np.ndarray]


@dataclass
class EncoderWeights:
    word: Embedding
    position: np.ndarray
    token_type: np.ndarray  # the row of token type 0, added to every token
    embedding_norm: tuple[np.ndarray, np.ndarray]
    layers: list[Layer]
    # bge-m3 head only
    sparse: Linear | None = None
    colbert: Linear | None = None


def pack_nibbles(codes: np.ndarray) -> np.ndarray:
    """4-bit values (0..15) along the last axis -> bytes, element 2i in the low nibble, 2i+1 in the high one."""
    codes = codes.astype(np.uint8)
    return (codes[..., 0::2] | (codes[..., 1::2] << 4)).astype(np.uint8)


@dataclass
class _Graph:
    external_data: str | None
    nodes: list = field(default_factory=list)
    initializers: list = field(default_factory=list)
    _external: object = None
    _external_offset: int = 0
    _names: set = field(default_factory=set)

    def constant(self, name: str, array: np.ndarray) -> str:
        tensor = numpy_helper.from_array(np.ascontiguousarray(array), name)
        self._store(tensor)
        return name

    def int4_constant(self, name: str, packed: np.ndarray, dims: list[int]) -> str:
        tensor = helper.make_tensor(name, TensorProto.INT4, dims, packed.tobytes(), raw=True)
        self._store(tensor)
        return name

    def _store(self, tensor: TensorProto) -> None:
        if tensor.name in self._names:
            raise ValueError(f"duplicate initializer {tensor.name}")
        self._names.add(tensor.name)
        # Big tensors go to one external-data file when asked (a protobuf file cannot exceed 2 GB), each at an
        # aligned offset so that ONNX Runtime maps the file instead of copying it (external_data.py).
        if self.external_data is not None and len(tensor.raw_data) >= MIN_EXTERNAL_BYTES:
            if self._external is None:
                self._external = open(self.external_data, "wb")
            padding = (-self._external_offset) % ALIGNMENT
            self._external.write(b"\0" * padding)
            self._external_offset += padding
            raw = tensor.raw_data
            self._external.write(raw)
            tensor.ClearField("raw_data")
            tensor.data_location = TensorProto.EXTERNAL
            for key, value in (
                ("location", os.path.basename(self.external_data)),
                ("offset", str(self._external_offset)),
                ("length", str(len(raw))),
            ):
                entry = tensor.external_data.add()
                entry.key = key
                entry.value = value
            self._external_offset += len(raw)
        self.initializers.append(tensor)

    def close(self) -> None:
        if self._external is not None:
            self._external.close()

    def op(self, op_type: str, inputs: list[str], output: str, domain: str = "", **attributes) -> str:
        self.nodes.append(helper.make_node(op_type, inputs, [output], name=output, domain=domain, **attributes))
        return output


def _linear(g: _Graph, x: str, name: str, linear: Linear) -> str:
    if linear.weight is not None:
        out_features, in_features = linear.weight.shape
        product = g.op("MatMul", [x, g.constant(f"{name}.weight", linear.weight.T.astype(np.float32))], f"{name}.matmul")
    else:
        out_features, in_features = linear.codes.shape
        blocks = in_features // Q4_BLOCK
        packed = pack_nibbles(linear.codes.reshape(out_features, blocks, Q4_BLOCK))
        product = g.op(
            "MatMulNBits",
            [x, g.constant(f"{name}.weight_q4", packed), g.constant(f"{name}.weight_scales", linear.scales.reshape(-1))],
            f"{name}.matmul",
            domain=MS_DOMAIN,
            K=in_features,
            N=out_features,
            bits=4,
            block_size=Q4_BLOCK,
        )
    return g.op("Add", [product, g.constant(f"{name}.bias", linear.bias.astype(np.float32))], name)


def _layer_norm(g: _Graph, x: str, name: str, norm: tuple[np.ndarray, np.ndarray], eps: float) -> str:
    weight, bias = norm
    return g.op(
        "LayerNormalization",
        [x, g.constant(f"{name}.weight", weight), g.constant(f"{name}.bias", bias)],
        name,
        axis=-1,
        epsilon=eps,
    )


def _scalar(g: _Graph, name: str, value, dtype=np.float32) -> str:
    return g.constant(name, np.array(value, dtype=dtype))


def _embeddings(g: _Graph, config: EncoderConfig, weights: EncoderWeights) -> str:
    word = weights.word
    if word.table is not None:
        words = g.op("Gather", [g.constant("embeddings.word", word.table), "input_ids"], "embeddings.words")
    else:
        # Signed int4 with no zero point: value = (code - 8) * scale.
        signed = (word.codes.astype(np.int16) - 8).astype(np.int8) & 0x0F
        rows, hidden = word.codes.shape
        words = g.op(
            "GatherBlockQuantized",
            [g.int4_constant("embeddings.word_q4", pack_nibbles(signed), [rows, hidden]), "input_ids",
             g.constant("embeddings.word_scales", word.scales)],
            "embeddings.words",
            domain=MS_DOMAIN,
            gather_axis=0,
            quantize_axis=1,
            block_size=Q4_BLOCK,
        )

    table = g.constant("embeddings.position", weights.position)
    if config.positions == "absolute":
        # Positions 0..seq-1: the first seq rows of the table.
        length = g.op("Shape", ["input_ids"], "sequence_length", start=1, end=2)
        positions = g.op("Slice", [table, g.constant("zero_1d", np.array([0], np.int64)), length,
                                   g.constant("row_axis", np.array([0], np.int64))], "embeddings.positions")
    elif config.positions == "roberta":
        counts = g.op("CumSum", ["attention_mask", _scalar(g, "sequence_axis", 1, np.int64)], "token_counts")
        real = g.op("Mul", [counts, "attention_mask"], "real_token_counts")
        position_ids = g.op("Add", [real, _scalar(g, "padding_idx", config.padding_idx, np.int64)], "position_ids")
        positions = g.op("Gather", [table, position_ids], "embeddings.positions")
    else:
        raise ValueError(f"unknown position style {config.positions}")

    summed = g.op("Add", [words, positions], "embeddings.words_positions")
    summed = g.op("Add", [summed, g.constant("embeddings.token_type", weights.token_type)], "embeddings.sum")
    return _layer_norm(g, summed, "embeddings.norm", weights.embedding_norm, config.eps)


def _attention_bias(g: _Graph) -> str:
    """[batch, 1, 1, seq]: 0 where the mask is 1, -10000 where it is 0 (BERT's form: exp(-10000) is 0 in float32).

    Unsqueeze, Unsqueeze, Cast, Sub, Mul in this order is the mask subgraph that ONNX Runtime's transformers
    optimiser recognises, so that `pnpm models --fused` can fuse each layer's attention into one kernel."""
    mask = g.op("Unsqueeze", ["attention_mask", g.constant("mask_axis_1", np.array([1], np.int64))], "mask_3d")
    mask = g.op("Unsqueeze", [mask, g.constant("mask_axis_2", np.array([2], np.int64))], "mask_4d")
    mask = g.op("Cast", [mask], "mask_float", to=TensorProto.FLOAT)
    inverted = g.op("Sub", [_scalar(g, "one_f32", 1.0), mask], "mask_inverted")
    return g.op("Mul", [inverted, _scalar(g, "mask_fill", -10000.0)], "attention_bias")


def _encoder_layer(g: _Graph, x: str, index: int, layer: Layer, config: EncoderConfig, bias: str) -> str:
    p = f"layer{index}"
    head_dim = config.hidden // config.heads
    split_heads = g.constant(f"{p}.head_shape", np.array([0, 0, config.heads, head_dim], np.int64))

    def heads(name: str, linear: Linear, perm: list[int]) -> str:
        projected = _linear(g, x, f"{p}.{name}", linear)
        return g.op("Transpose", [g.op("Reshape", [projected, split_heads], f"{p}.{name}.split")], f"{p}.{name}.heads",
                    perm=perm)

    q = heads("query", layer.query, [0, 2, 1, 3])  # [b, h, s, d]
    k = heads("key", layer.key, [0, 2, 3, 1])  # [b, h, d, s]
    v = heads("value", layer.value, [0, 2, 1, 3])
    scores = g.op("MatMul", [q, k], f"{p}.scores")
    # Div by sqrt(head_dim), as BERT's exports have it: the form the transformers optimiser fuses into Attention.
    scores = g.op("Div", [scores, _scalar(g, f"{p}.scale", math.sqrt(head_dim))], f"{p}.scores_scaled")
    scores = g.op("Add", [scores, bias], f"{p}.scores_masked")
    probs = g.op("Softmax", [scores], f"{p}.probs", axis=-1)
    context = g.op("Transpose", [g.op("MatMul", [probs, v], f"{p}.context_heads")], f"{p}.context_t", perm=[0, 2, 1, 3])
    context = g.op("Reshape", [context, g.constant(f"{p}.merge_shape", np.array([0, 0, config.hidden], np.int64))],
                   f"{p}.context")
    attended = _linear(g, context, f"{p}.attention_output", layer.attention_output)
    x = _layer_norm(g, g.op("Add", [attended, x], f"{p}.attention_residual"), f"{p}.attention_norm",
                    layer.attention_norm, config.eps)

    hidden = _linear(g, x, f"{p}.intermediate", layer.intermediate)
    # GELU with erf, in the form ONNX Runtime fuses into one Gelu kernel.
    erf = g.op("Erf", [g.op("Div", [hidden, _scalar(g, f"{p}.sqrt2", math.sqrt(2.0))], f"{p}.gelu_div")], f"{p}.gelu_erf")
    gate = g.op("Add", [erf, _scalar(g, f"{p}.gelu_one", 1.0)], f"{p}.gelu_add")
    activated = g.op("Mul", [g.op("Mul", [hidden, gate], f"{p}.gelu_mul"), _scalar(g, f"{p}.gelu_half", 0.5)],
                     f"{p}.gelu")
    out = _linear(g, activated, f"{p}.output", layer.output)
    return _layer_norm(g, g.op("Add", [out, x], f"{p}.output_residual"), f"{p}.output_norm", layer.output_norm,
                       config.eps)


def _l2_normalise(g: _Graph, x: str, name: str) -> str:
    # Sqrt of ReduceSum rather than ReduceL2, whose shape ONNX Runtime's symbolic shape inference cannot follow.
    squares = g.op("Mul", [x, x], f"{name}.squares")
    summed = g.op("ReduceSum", [squares, g.constant(f"{name}.axes", np.array([-1], np.int64))], f"{name}.sum_squares",
                  keepdims=1)
    norm = g.op("Sqrt", [summed], f"{name}.norm")
    norm = g.op("Max", [norm, _scalar(g, f"{name}.eps", 1e-12)], f"{name}.norm_clamped")
    return g.op("Div", [x, norm], name)


def _mean_pooled_head(g: _Graph, hidden: str) -> list:
    g.op("Identity", [hidden], "last_hidden_state")
    mask = g.op("Unsqueeze", [g.op("Cast", ["attention_mask"], "pool_mask", to=TensorProto.FLOAT),
                              g.constant("pool_axes", np.array([-1], np.int64))], "pool_mask_3d")
    seq_axis = g.constant("seq_axis", np.array([1], np.int64))
    summed = g.op("ReduceSum", [g.op("Mul", [hidden, mask], "masked_hidden"), seq_axis], "hidden_sum", keepdims=0)
    count = g.op("ReduceSum", [mask, seq_axis], "token_count", keepdims=0)
    count = g.op("Max", [count, _scalar(g, "count_eps", 1e-9)], "token_count_clamped")
    _l2_normalise(g, g.op("Div", [summed, count], "mean_hidden"), "sentence_embedding")
    return [("last_hidden_state", ["batch", "sequence", "hidden"]), ("sentence_embedding", ["batch", "hidden"])]


def _bge_m3_head(g: _Graph, hidden: str, weights: EncoderWeights, size: int) -> list:
    # Slice + Squeeze rather than Gather with a scalar index, which ONNX Runtime's optimiser rewrites wrongly.
    first = g.op("Slice", [hidden, g.constant("cls_start", np.array([0], np.int64)),
                           g.constant("cls_end", np.array([1], np.int64)),
                           g.constant("cls_axis", np.array([1], np.int64))], "cls_hidden_3d")
    first = g.op("Squeeze", [first, g.constant("cls_squeeze_axis", np.array([1], np.int64))], "cls_hidden")
    _l2_normalise(g, first, "dense_vecs")
    g.op("Relu", [_linear(g, hidden, "sparse_linear", weights.sparse)], "sparse_vecs")
    after_first = g.op(
        "Slice",
        [hidden, g.constant("slice_start", np.array([1], np.int64)),
         g.constant("slice_end", np.array([np.iinfo(np.int64).max], np.int64)),
         g.constant("slice_axis", np.array([1], np.int64))],
        "token_hidden",
    )
    _linear(g, after_first, "colbert_vecs", weights.colbert)
    return [("dense_vecs", ["batch", size]), ("sparse_vecs", ["batch", "sequence", 1]),
            ("colbert_vecs", ["batch", "sequence_minus_1", size])]


def build_encoder(config: EncoderConfig, weights: EncoderWeights, path: str, external_data: bool = False,
                  producer: str = "rag-system model-builders") -> None:
    """Writes the graph to `path` (with its weights in `path`.data when external_data)."""
    if config.hidden % config.heads:
        raise ValueError("hidden size must be a multiple of the head count")
    g = _Graph(external_data=f"{path}.data" if external_data else None)
    try:
        x = _embeddings(g, config, weights)
        bias = _attention_bias(g)
        for index, layer in enumerate(weights.layers):
            x = _encoder_layer(g, x, index, layer, config, bias)
        if config.head == "mean-pooled":
            outputs = _mean_pooled_head(g, x)
        elif config.head == "bge-m3":
            outputs = _bge_m3_head(g, x, weights, config.hidden)
        else:
            raise ValueError(f"unknown head {config.head}")
    finally:
        g.close()

    inputs = [helper.make_tensor_value_info(name, TensorProto.INT64, ["batch", "sequence"])
              for name in ("input_ids", "attention_mask")]
    graph = helper.make_graph(
        g.nodes, "encoder", inputs,
        [helper.make_tensor_value_info(name, TensorProto.FLOAT, shape) for name, shape in outputs],
        initializer=g.initializers,
    )
    opsets = [helper.make_opsetid("", OPSET)]
    if any(node.domain == MS_DOMAIN for node in g.nodes):
        opsets.append(helper.make_opsetid(MS_DOMAIN, 1))
    model = helper.make_model(graph, opset_imports=opsets, producer_name=producer)
    model.ir_version = 10  # INT4 tensors need IR 10; ONNX Runtime 1.20+ reads it
    with open(path, "wb") as handle:
        handle.write(model.SerializeToString())
    # Checked from the file, so that external data is checked for presence without being read into memory.
    onnx.checker.check_model(path)
