import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Tokenizer } from 'tokenizers';
import type { TokenizeFn } from './chunker.js';

// The shared folder sits beside the repository unless SHARED_DIR says otherwise.
const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
export const sharedDir = resolve(process.env.SHARED_DIR ?? join(repoRoot, '..', 'shared'));
export const docsDir = join(sharedDir, 'data', 'docs');
export const evalDir = join(sharedDir, 'data', 'eval');
const tokenizerPath = join(sharedDir, 'models', 'multilingual-e5-small-q4', 'tokenizer.json');

/**
 * A TokenizeFn over the real multilingual-e5 tokenizer (the Hugging Face tokenizers binding, as the embedding
 * service uses it): no special tokens, no truncation, offsets converted from code points to UTF-16 units.
 */
export function loadE5TokenizeFn(): TokenizeFn {
  const tokenizer = Tokenizer.fromFile(tokenizerPath);
  tokenizer.disableTruncation();
  tokenizer.disablePadding();
  return async (texts) => {
    const encodings = await tokenizer.encodeBatch(texts, { addSpecialTokens: false });
    return encodings.map((encoding, index) => ({
      ids: encoding.getIds(),
      offsets: toUtf16Offsets(texts[index] ?? '', encoding.getOffsets()),
    }));
  };
}

function toUtf16Offsets(text: string, offsets: readonly (readonly number[])[]): [number, number][] {
  const unitIndex: number[] = [];
  let unit = 0;
  for (const char of text) {
    unitIndex.push(unit);
    unit += char.length;
  }
  unitIndex.push(unit);
  const at = (codePoint: number) => unitIndex[Math.min(codePoint, unitIndex.length - 1)] ?? unit;
  return offsets.map(([start = 0, end = 0]) => [at(start), at(end)]);
}
