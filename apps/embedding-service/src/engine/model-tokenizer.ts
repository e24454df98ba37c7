import { readFile } from 'node:fs/promises';
import type { TextKind, TokenizedText } from '@rag/contracts/embedding-api';
import type { ModelManifest } from '@rag/models/model-manifest';
import { Tokenizer } from 'tokenizers';
import { z } from 'zod';

export interface EncodedText {
  ids: number[];
  /** Whether the text had more than maxLength tokens and lost its tail (the end token is kept). */
  truncated: boolean;
}

export interface TokenizeOptions {
  addSpecialTokens: boolean;
  offsets: boolean;
  truncate: boolean;
}

export interface ModelTokenizer {
  padId: number;
  /** How many token ids the model knows, added tokens included: valid ids are 0 to vocabSize - 1. */
  vocabSize: number;
  /**
   * Ids of the CLS, EOS, PAD and UNK tokens, which BGE-M3's sparse output drops (FlagEmbedding's unused_tokens).
   * Other special tokens such as <mask> keep their weight there, as in FlagEmbedding.
   */
  specialIds: ReadonlySet<number>;
  /** Token ids per text, with the kind's prefix prepended, special tokens added and truncated to maxLength. */
  encode(texts: readonly string[], kind: TextKind): Promise<EncodedText[]>;
  /** Token ids of texts as they are (no prefix), optionally with UTF-16 offsets, truncated only when asked. */
  tokenize(texts: readonly string[], options: TokenizeOptions): Promise<TokenizedText[]>;
}

// Only the parts of tokenizer.json that the tokenizers binding does not expose: which added tokens are special,
// and the padding id if the file declares one.
const tokenizerFileSchema = z.object({
  added_tokens: z
    .array(z.object({ id: z.number().int(), content: z.string(), special: z.boolean() }))
    .default([]),
  padding: z.object({ pad_id: z.number().int() }).nullable().optional(),
  model: z.object({ unk_token: z.string().nullable().optional() }).passthrough().optional(),
});

const conventionalPadTokens = ['<pad>', '[PAD]'];
/** CLS, EOS, PAD and UNK in the spellings of XLM-R/RoBERTa and of BERT. */
const unusedTokenContents = ['<s>', '</s>', '<pad>', '<unk>', '[CLS]', '[SEP]', '[PAD]', '[UNK]'];

/**
 * The binding's encode() runs on libuv's thread pool, not on the calling thread, so the HTTP thread tokenises
 * without blocking its event loop and without waiting behind inference in the worker threads.
 */
export async function loadModelTokenizer(
  tokenizerPath: string,
  manifest: ModelManifest,
): Promise<ModelTokenizer> {
  const file = tokenizerFileSchema.parse(JSON.parse(await readFile(tokenizerPath, 'utf8')));
  const specials = file.added_tokens.filter((token) => token.special);
  const padId =
    file.padding?.pad_id ?? specials.find((token) => conventionalPadTokens.includes(token.content))?.id;
  if (padId === undefined) {
    throw new Error(
      `${tokenizerPath} declares no padding and no ${conventionalPadTokens.join(' or ')} token`,
    );
  }

  // Truncation is a setting of the tokenizer object, so texts cut to maxLength and whole texts need one each.
  const truncating = Tokenizer.fromFile(tokenizerPath);
  // Truncation counts the template's special tokens, so the end token survives truncation.
  truncating.setTruncation(manifest.maxLength);
  truncating.disablePadding();
  const whole = Tokenizer.fromFile(tokenizerPath);
  whole.disableTruncation();
  whole.disablePadding();

  return {
    padId,
    vocabSize: truncating.getVocabSize(true),
    specialIds: new Set(
      specials
        .filter(
          (token) =>
            unusedTokenContents.includes(token.content) ||
            token.content === file.model?.unk_token ||
            token.id === padId,
        )
        .map((token) => token.id),
    ),
    async encode(texts, kind) {
      const prefix = manifest.prefixes[kind];
      const encodings = await truncating.encodeBatch(texts.map((text) => prefix + text));
      return encodings.map((encoding) => ({
        ids: encoding.getIds(),
        truncated: encoding.getOverflowing().length > 0,
      }));
    },
    async tokenize(texts, options) {
      const tokenizer = options.truncate ? truncating : whole;
      const encodings = await tokenizer.encodeBatch([...texts], {
        addSpecialTokens: options.addSpecialTokens,
      });
      return encodings.map((encoding, i) => {
        const result: TokenizedText = {
          ids: encoding.getIds(),
          truncated: options.truncate && encoding.getOverflowing().length > 0,
        };
        if (options.offsets) result.offsets = toUtf16Offsets(texts[i]!, encoding.getOffsets());
        return result;
      });
    },
  };
}

/**
 * The binding reports offsets in Unicode code points (Rust chars); JavaScript strings index UTF-16 code units.
 * They differ after any character outside the Basic Multilingual Plane (emoji, 𝔘, rare CJK), which takes two
 * units. Special tokens keep [0, 0].
 */
export function toUtf16Offsets(
  text: string,
  offsets: readonly (readonly [number, number] | number[])[],
): [number, number][] {
  if (!/[\uD800-\uDFFF]/.test(text)) return offsets.map(([start, end]) => [start!, end!]);
  // unitIndex[c] = UTF-16 index where code point c starts; one more entry for the end of the text. A lone
  // surrogate counts as one code point on both sides (the tokenizer sees it as U+FFFD).
  const unitIndex: number[] = [];
  let unit = 0;
  for (const char of text) {
    unitIndex.push(unit);
    unit += char.length;
  }
  unitIndex.push(unit);
  const at = (codePoint: number) => unitIndex[Math.min(codePoint, unitIndex.length - 1)]!;
  return offsets.map(([start, end]) => [at(start!), at(end!)]);
}
