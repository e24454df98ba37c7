import { describe, expect, it } from 'vitest';
import { lexicalTermIds, termId } from './analyzer.js';
import { documentChunkTerms, indexedTerms } from './chunk-terms.js';

const ids = (...terms: string[]) => terms.map(termId);

describe('documentChunkTerms', () => {
  const chunks = [
    { context: 'Wing Design › Flutter', text: 'Flutter of a swept wing.' },
    { context: 'Wing Design › Flutter', text: 'Tests at high speed.' },
    { context: 'Wing Design › Stall', text: 'Stall angle.' },
  ];

  it('indexes every chunk with its whole context line, then its text', () => {
    const terms = documentChunkTerms(chunks);
    expect(terms[1]?.indexed).toEqual(ids('wing', 'design', 'flutter', 'tests', 'high', 'speed'));
    chunks.forEach((chunk, index) => {
      expect(terms[index]?.indexed).toEqual(indexedTerms(chunk.context, chunk.text));
      expect(terms[index]?.indexed).toEqual(lexicalTermIds(`${chunk.context}\n${chunk.text}`));
    });
  });

  it('counts the title and headings in the statistics once per document, the text always', () => {
    const counted = documentChunkTerms(chunks).map((terms) => terms.counted);
    expect(counted[0]).toEqual(ids('wing', 'design', 'flutter', 'flutter', 'swept', 'wing'));
    expect(counted[1]).toEqual(ids('tests', 'high', 'speed'));
    expect(counted[2]).toEqual(ids('stall', 'stall', 'angle'));
  });
});
