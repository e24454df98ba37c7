/**
 * English function words, which carry no topic: left out of the index, the query and the highlights. Only
 * English has a list: other scripts with spaces are indexed whole, and CJK text drops Hiragana-only terms
 * instead (analyzer.ts). This list measured better on cranfield than Lucene's 33-word default (README, Search
 * quality).
 */
const englishStopWords = new Set(
  `a about above after again against all am an and any are as at be because been before being below between
  both but by can did do does doing down during each few for from further had has have having he her here hers
  herself him himself his how i if in into is it its itself just me more most my myself no nor not now of off
  on once only or other our ours ourselves out over own same she should so some such than that the their theirs
  them themselves then there these they this those through to too under until up very was we were what when
  where which while who whom why will with you your yours yourself yourselves`.split(/\s+/),
);

export function isStopWord(term: string): boolean {
  return englishStopWords.has(term);
}
