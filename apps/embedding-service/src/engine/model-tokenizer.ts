import { readFile } from 'node:fs/promises';
import type { TextKind } from '@rag/contracts/embedding-api';
import type { ModelManifest } from '@rag/models/model-manifest';
import { Tokenizer } from 'tokenizers';
import { z } from 'zod';

export interface ModelTokenizer {
  padId: number;
  /** Ids of the tokenizer's special tokens (<s>, </s>, <pad>, <unk>, ...), which carry no lexical weight. */
  specialIds: ReadonlySet<number>;
  /** Token ids per text, with the kind's prefix prepended, special tokens added and truncated to maxLength. */
  encode(texts: readonly string[], kind: TextKind): Promise<number[][]>;
}

// Only the parts of tokenizer.json that the tokenizers binding does not expose: which added tokens are special,
// and the padding id if the file declares one.
const tokenizerFileSchema = z.object({
  added_tokens: z
    .array(z.object({ id: z.number().int(), content: z.string(), special: z.boolean() }))
    .default([]),
  padding: z.object({ pad_id: z.number().int() }).nullable().optional(),
});

const conventionalPadTokens = ['<pad>', '[PAD]'];

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

  const tokenizer = Tokenizer.fromFile(tokenizerPath);
  // Truncation counts the template's special tokens, so the end token survives truncation.
  tokenizer.setTruncation(manifest.maxLength);
  tokenizer.disablePadding();

  return {
    padId,
    specialIds: new Set(specials.map((token) => token.id)),
    async encode(texts, kind) {
      const prefix = manifest.prefixes[kind];
      const encodings = await tokenizer.encodeBatch(texts.map((text) => prefix + text));
      return encodings.map((encoding) => encoding.getIds());
    },
  };
}
