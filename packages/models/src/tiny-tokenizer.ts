import { continuationPrefix, tinySpecialTokens, type VocabularyEntry } from './tiny-vocabulary.js';

/**
 * A Hugging Face tokenizer.json for the tiny model: BERT-style WordPiece (lowercase, CJK ideographs split,
 * accents kept) wrapped in XLM-R's template "<s> $A </s>", so the engine sees the same special ids as with BGE-M3.
 */
export function buildTinyTokenizerJson(vocabulary: readonly VocabularyEntry[]): string {
  const vocab: Record<string, number> = {};
  vocabulary.forEach((entry, id) => {
    vocab[entry.token] = id;
  });
  const special = (content: string) => ({ SpecialToken: { id: content, type_id: 0 } });
  const specialIds = (content: string) => {
    const id = vocab[content];
    if (id === undefined) throw new Error(`Tiny vocabulary lacks ${content}`);
    return { id: content, ids: [id], tokens: [content] };
  };
  const tokenizer = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: tinySpecialTokens.map((token) => ({
      id: token.id,
      content: token.content,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    })),
    normalizer: {
      type: 'BertNormalizer',
      clean_text: true,
      handle_chinese_chars: true,
      // Explicit false: left null, the BERT normaliser strips accents whenever it lowercases.
      strip_accents: false,
      lowercase: true,
    },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [special('<s>'), { Sequence: { id: 'A', type_id: 0 } }, special('</s>')],
      pair: [
        special('<s>'),
        { Sequence: { id: 'A', type_id: 0 } },
        special('</s>'),
        special('</s>'),
        { Sequence: { id: 'B', type_id: 0 } },
        special('</s>'),
      ],
      special_tokens: { '<s>': specialIds('<s>'), '</s>': specialIds('</s>') },
    },
    decoder: { type: 'WordPiece', prefix: continuationPrefix, cleanup: true },
    model: {
      type: 'WordPiece',
      unk_token: '<unk>',
      continuing_subword_prefix: continuationPrefix,
      max_input_chars_per_word: 100,
      vocab,
    },
  };
  return `${JSON.stringify(tokenizer)}\n`;
}
