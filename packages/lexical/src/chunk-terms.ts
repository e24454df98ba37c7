import { analyzeTerms, termId } from './analyzer.js';

export interface ChunkTerms {
  /**
   * Every term of the context line and then of the text: the chunk's BM25 term frequencies and length (the
   * line break between them separates terms, so this is the analysis of the two as one text).
   */
  indexed: number[];
  /**
   * What the chunk adds to its collection's BM25 statistics (document frequencies, total length): its text's
   * terms, and its context line's only where no earlier chunk of the document carried them. A document's
   * title (and a heading over many chunks) thus counts once per document, as if it were written once, not
   * once per chunk: a long document does not make its title's words look common.
   */
  counted: number[];
}

/** The lexical terms of a document's chunks, in reading order. */
export function documentChunkTerms(chunks: readonly { context: string; text: string }[]): ChunkTerms[] {
  const contextTermsSeen = new Set<number>();
  return chunks.map((chunk) => {
    const context = analyzeTerms(chunk.context).map(termId);
    const text = analyzeTerms(chunk.text).map(termId);
    const fresh = context.filter((id) => !contextTermsSeen.has(id));
    for (const id of context) contextTermsSeen.add(id);
    return { indexed: [...context, ...text], counted: [...fresh, ...text] };
  });
}

/** A chunk's indexed terms, as `documentChunkTerms` has them. */
export function indexedTerms(context: string, text: string): number[] {
  return [...analyzeTerms(context), ...analyzeTerms(text)].map(termId);
}
