"""Writes an ONNX model with its large initializers in one external-data file, each at an offset aligned to 64 KiB.

ONNX Runtime maps such a file into memory instead of copying it onto its heap (it maps a tensor whose offset is a
multiple of the page/allocation granularity). Every session of the model then reads the same page-cache pages:
a second inference session in the same process costs only what its kernels pre-pack, not another copy of the
weights, and the word-embedding table of a multilingual model (250k rows) is resident only for the rows that
texts use."""

import os

from onnx import ModelProto, TensorProto

ALIGNMENT = 64 * 1024
# Smaller tensors (biases, norms, shapes) stay inside the graph file: mapping them would save nothing.
MIN_EXTERNAL_BYTES = ALIGNMENT


def data_file_name(model_path: str) -> str:
    return f"{os.path.basename(model_path)}.data"


def move_to_aligned_external_data(tensors, model_path: str) -> None:
    """Moves the raw data of `tensors` (TensorProtos) into `model_path`.data, aligned, and points them at it."""
    location = data_file_name(model_path)
    offset = 0
    with open(os.path.join(os.path.dirname(os.path.abspath(model_path)), location), "wb") as handle:
        for tensor in tensors:
            if tensor.data_location == TensorProto.EXTERNAL or len(tensor.raw_data) < MIN_EXTERNAL_BYTES:
                continue
            padding = (-offset) % ALIGNMENT
            handle.write(b"\0" * padding)
            offset += padding
            raw = tensor.raw_data
            handle.write(raw)
            tensor.ClearField("raw_data")
            tensor.data_location = TensorProto.EXTERNAL
            del tensor.external_data[:]
            for key, value in (("location", location), ("offset", str(offset)), ("length", str(len(raw)))):
                entry = tensor.external_data.add()
                entry.key = key
                entry.value = value
            offset += len(raw)


def save_with_aligned_external_data(model: ModelProto, model_path: str) -> None:
    """Saves `model` (all of its data loaded) as `model_path` plus `model_path`.data."""
    move_to_aligned_external_data(list(model.graph.initializer), model_path)
    with open(model_path, "wb") as handle:
        handle.write(model.SerializeToString())
