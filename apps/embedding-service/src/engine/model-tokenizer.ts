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
  const { padId, specialIds } = await readSpecialTokens(tokenizerPath);
  // One tokenizer object, without truncation: a large vocabulary's tokenizer holds hundreds of MB, and truncation is
  // a setting of the object, so truncating and whole tokenisation would each need their own. Texts are cut here
  // instead, exactly as the tokenizer's own truncation would: the content to what fits, the template's start and
  // end tokens kept.
  const tokenizer = Tokenizer.fromFile(tokenizerPath);
  tokenizer.disableTruncation();
  tokenizer.disablePadding();
  const template = await templateShape(tokenizer);
  const cut = <T>(items: readonly T[], addSpecialTokens: boolean): T[] => {
    const [before, after] = addSpecialTokens ? template : [0, 0];
    if (items.length <= manifest.maxLength) return [...items];
    if (manifest.maxLength < before + after) {
      throw new Error(`maxLength ${manifest.maxLength} leaves no room for the template's special tokens`);
    }
    return [...items.slice(0, manifest.maxLength - after), ...items.slice(items.length - after)];
  };

  return {
    padId,
    vocabSize: tokenizer.getVocabSize(true),
    specialIds,
    async encode(texts, kind) {
      const prefix = manifest.prefixes[kind];
      // One encode() per text rather than encodeBatch(): the batch call hands its texts to a Rayon pool besides
      // libuv's, a second thread hop that cost a lone 128-token text 0.5 ms of its latency (0.67 ms against 0.17)
      // and took more CPU; separate calls spread over libuv's threads all the same.
      const encodings = await Promise.all(texts.map((text) => tokenizer.encode(prefix + text)));
      return encodings.map((encoding) => {
        const ids = encoding.getIds();
        return { ids: cut(ids, true), truncated: ids.length > manifest.maxLength };
      });
    },
    async tokenize(texts, options) {
      const encodings = await tokenizer.encodeBatch([...texts], {
        addSpecialTokens: options.addSpecialTokens,
      });
      return encodings.map((encoding, i) => {
        const ids = encoding.getIds();
        const truncated = options.truncate && ids.length > manifest.maxLength;
        const result: TokenizedText = {
          ids: truncated ? cut(ids, options.addSpecialTokens) : ids,
          truncated,
        };
        if (options.offsets) {
          const offsets = encoding.getOffsets();
          result.offsets = toUtf16Offsets(
            texts[i]!,
            truncated ? cut(offsets, options.addSpecialTokens) : offsets,
          );
        }
        return result;
      });
    },
  };
}

/**
 * The padding id and the unused special tokens' ids, read from tokenizer.json apart from loadModelTokenizer so that
 * the parsed file (a large vocabulary's pieces and scores: some 40 MB of JavaScript objects for XLM-R) is garbage once
 * this returns. Held by the tokenizer's closures, it made every full garbage collection of the HTTP thread mark it.
 */
async function readSpecialTokens(tokenizerPath: string): Promise<{ padId: number; specialIds: Set<number> }> {
  const file = tokenizerFileSchema.parse(JSON.parse(await readFile(tokenizerPath, 'utf8')));
  const specials = file.added_tokens.filter((token) => token.special);
  const padId =
    file.padding?.pad_id ?? specials.find((token) => conventionalPadTokens.includes(token.content))?.id;
  if (padId === undefined) {
    throw new Error(
      `${tokenizerPath} declares no padding and no ${conventionalPadTokens.join(' or ')} token`,
    );
  }
  const unkToken = file.model?.unk_token;
  const specialIds = new Set(
    specials
      .filter(
        (token) =>
          unusedTokenContents.includes(token.content) || token.content === unkToken || token.id === padId,
      )
      .map((token) => token.id),
  );
  return { padId, specialIds };
}

/**
 * How many special tokens the tokenizer's template puts before and after a text ("<s> A </s>": 1 and 1), found by
 * tokenising a probe with and without them.
 */
async function templateShape(tokenizer: Tokenizer): Promise<[number, number]> {
  const probe = 'probe text';
  const [withSpecials, without] = await Promise.all([
    tokenizer.encode(probe, null, { addSpecialTokens: true }),
    tokenizer.encode(probe, null, { addSpecialTokens: false }),
  ]);
  const all = withSpecials.getIds();
  const content = without.getIds();
  for (let before = 0; before + content.length <= all.length; before++) {
    if (content.every((id, i) => all[before + i] === id))
      return [before, all.length - content.length - before];
  }
  throw new Error("Cannot tell where the tokenizer's template puts its special tokens");
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
