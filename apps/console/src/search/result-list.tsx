import type { SearchResponse } from '@rag/client/rag-client';
import { formatScore } from '../format.js';
import { routeHref } from '../hash-route.js';
import { highlightSegments } from './highlight-segments.js';
import type { TimingEntry } from './server-timing.js';
import { searchStages } from './server-timing.js';

type Hit = SearchResponse['results'][number];
type Signal = 'dense' | 'sparse' | 'bm25' | 'colbert';

/**
 * Ranked results, each with the fused score beside every signal's own score and rank: why this result is
 * here. With another column to compare against, each result also says where that column ranked it.
 */
export function ResultList({
  answer,
  timings,
  collection,
  otherRanks,
}: {
  answer: SearchResponse;
  timings: TimingEntry[];
  collection: string;
  otherRanks?: Map<string, number> | undefined;
}) {
  const signals = answer.signals.filter((s): s is Signal =>
    ['dense', 'sparse', 'bm25', 'colbert'].includes(s),
  );
  const stages = searchStages(timings);
  const total = stages.reduce((sum, s) => sum + s.ms, 0);
  return (
    <div class="results">
      <p class="answer-meta">
        {answer.results.length} results · signals {answer.signals.join(' + ')}
        {answer.fusion && answer.fusion !== 'none' ? ` · ${answer.fusion} fusion` : ''}
        {answer.weights && Object.keys(answer.weights).length > 1
          ? ` (${Object.entries(answer.weights)
              .map(([s, w]) => `${s} ${w.toFixed(2)}`)
              .join(', ')})`
          : ''}{' '}
        · {answer.took_ms} ms at the gateway
        {timings.some((t) => t.name === 'cache') ? ' · answer cache hit' : ''}
      </p>
      {stages.length > 0 && (
        <figure class="timing" aria-label="Latency by stage (Server-Timing)">
          <div class="timing-bar">
            {stages.map((stage) => (
              <span
                key={stage.name}
                class={`timing-${stage.name.split(' ')[0]}`}
                style={{ flexGrow: total > 0 ? stage.ms / total : 0 }}
                title={`${stage.name} ${stage.ms.toFixed(1)} ms`}
              />
            ))}
          </div>
          <figcaption>
            <ul class="timing-legend" data-testid="server-timing">
              {stages.map((stage) => (
                <li key={stage.name}>
                  <span class={`swatch timing-${stage.name.split(' ')[0]}`} />
                  {stage.name} {stage.ms.toFixed(1)} ms
                </li>
              ))}
            </ul>
          </figcaption>
        </figure>
      )}
      <ol class="hits">
        {answer.results.map((hit, index) => (
          <HitCard
            key={hit.chunk_id}
            hit={hit}
            rank={index + 1}
            signals={signals}
            collection={collection}
            otherRank={otherRanks ? (otherRanks.get(hit.chunk_id) ?? null) : undefined}
          />
        ))}
      </ol>
    </div>
  );
}

function HitCard({
  hit,
  rank,
  signals,
  collection,
  otherRank,
}: {
  hit: Hit;
  rank: number;
  signals: Signal[];
  collection: string;
  otherRank: number | null | undefined;
}) {
  return (
    <li class="hit" data-testid="hit" data-external-id={hit.external_id ?? ''}>
      <div class="hit-head">
        <span class="hit-rank">#{rank}</span>
        <a class="hit-title" href={routeHref({ screen: 'document', collection, id: hit.document_id })}>
          {hit.title || hit.external_id || hit.document_id}
        </a>
        {otherRank !== undefined && (
          <span class="moved">
            {otherRank === null ? 'not in the other column' : `#${otherRank} in the other column`}
          </span>
        )}
      </div>
      <div class="hit-where">
        {hit.external_id && <span>{hit.external_id}</span>}
        {hit.page != null && <span>page {hit.page}</span>}
        {hit.heading_path.length > 0 && <span>{hit.heading_path.join(' › ')}</span>}
      </div>
      <table class="signals" aria-label={`Scores of result ${rank}`}>
        <thead>
          <tr>
            <th scope="col">fused</th>
            {signals.map((signal) => (
              <th scope="col" key={signal}>
                {signal}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          <tr>
            <td data-signal="fused">{formatScore(hit.score)}</td>
            {signals.map((signal) => (
              <td key={signal} data-signal={signal}>
                {formatScore(hit.scores?.[signal])}
                <span class="signal-rank">
                  {hit.ranks?.[signal] !== undefined
                    ? ` #${hit.ranks[signal]}`
                    : hit.scores?.[signal] === undefined
                      ? ' not a candidate'
                      : ''}
                </span>
              </td>
            ))}
          </tr>
        </tbody>
      </table>
      <p class="hit-text">
        {highlightSegments(hit.text, hit.highlights).map((segment, i) =>
          segment.highlighted ? <mark key={i}>{segment.text}</mark> : <span key={i}>{segment.text}</span>,
        )}
      </p>
    </li>
  );
}
