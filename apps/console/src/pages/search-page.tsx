import type { SearchRequest, SearchResponse } from '@rag/client/rag-client';
import { useEffect, useState } from 'preact/hooks';
import type { ScreenProps } from '../app.js';
import { CopyButton } from '../components/copy-button.js';
import { ProblemNotice } from '../components/problem-notice.js';
import { useLoad } from '../components/use-load.js';
import { cliSnippet, curlSnippet, sdkSnippet } from '../search/request-snippets.js';
import { ResultList } from '../search/result-list.js';
import { defaultSettings, type SearchSettings, searchRequest } from '../search/search-settings.js';
import { parseServerTiming, type TimingEntry } from '../search/server-timing.js';
import { SettingsForm } from '../search/settings-form.js';
import { gatewayUrl } from '../session.js';

type Outcome = { request: SearchRequest } & (
  | { answer: SearchResponse; timings: TimingEntry[] }
  | { problem: unknown }
);

/**
 * The search playground: one query under one or two settings side by side, each result explained by its
 * signals, the latency by stage, and the request to copy as curl, `rag search` or SDK code.
 */
export function SearchPage({
  client,
  clientWith,
  collection: initial,
}: ScreenProps & { collection: string | null }) {
  const collections = useLoad(() => client.listCollections(), [client]);
  const [collection, setCollection] = useState(initial ?? '');
  useEffect(() => {
    const first = collections.data?.collections[0]?.name;
    if (!collection && first) setCollection(first);
  }, [collections.data, collection]);
  const [query, setQuery] = useState('');
  const [compare, setCompare] = useState(false);
  const [settings, setSettings] = useState<SearchSettings[]>([
    defaultSettings,
    { ...defaultSettings, mode: 'dense' },
  ]);
  const [outcomes, setOutcomes] = useState<Outcome[]>([]);
  const [busy, setBusy] = useState(false);
  /** How many searches have come back: marks the results, so a reader (or a test) can tell new from old. */
  const [runs, setRuns] = useState(0);
  const columns = compare ? settings : settings.slice(0, 1);

  async function run(event: Event) {
    event.preventDefault();
    if (!collection || !query.trim()) return;
    setBusy(true);
    const results = await Promise.all(
      columns.map(async (columnSettings): Promise<Outcome> => {
        let timing: string | null = null;
        // A client per search, so each column reads its own answer's Server-Timing.
        const searching = clientWith((answer) => {
          if (answer.path === '/v1/search') timing = answer.header('server-timing');
        });
        const request = searchRequest(collection, query, columnSettings);
        try {
          const answer = await searching.search(request);
          return { request, answer, timings: parseServerTiming(timing) };
        } catch (problem) {
          return { request, problem };
        }
      }),
    );
    setOutcomes(results);
    setRuns((n) => n + 1);
    setBusy(false);
  }

  const ranksOf = (outcome: Outcome | undefined) =>
    outcome && 'answer' in outcome
      ? new Map(outcome.answer.results.map((hit, i) => [hit.chunk_id, i + 1]))
      : undefined;

  return (
    <section aria-labelledby="search-title">
      <h1 id="search-title">Search playground</h1>
      <ProblemNotice error={collections.error} />
      <form class="search-form" onSubmit={run}>
        <div class="search-line">
          <label>
            Collection
            <select value={collection} onChange={(event) => setCollection(event.currentTarget.value)}>
              {(collections.data?.collections ?? []).map((c) => (
                <option key={c.name} value={c.name}>
                  {c.name}
                </option>
              ))}
            </select>
          </label>
          <label class="grow">
            Query
            <input
              type="search"
              name="query"
              value={query}
              required
              onInput={(event) => setQuery(event.currentTarget.value)}
            />
          </label>
          <button type="submit" disabled={busy}>
            {busy ? 'Searching…' : 'Search'}
          </button>
        </div>
        <label class="check">
          <input
            type="checkbox"
            checked={compare}
            onChange={(event) => setCompare(event.currentTarget.checked)}
          />
          compare two settings side by side
        </label>
        <div class={compare ? 'columns two' : 'columns'}>
          {columns.map((columnSettings, index) => (
            <SettingsForm
              key={index}
              label={index === 0 ? 'A' : 'B'}
              settings={columnSettings}
              onChange={(next) => setSettings((all) => all.map((s, i) => (i === index ? next : s)))}
            />
          ))}
        </div>
      </form>
      {outcomes.length > 0 && (
        <div class={outcomes.length > 1 ? 'columns two' : 'columns'} data-testid="outcomes" data-runs={runs}>
          {outcomes.map((outcome, index) => (
            <section
              key={index}
              aria-label={`Results ${index === 0 ? 'A' : 'B'}`}
              data-testid={`results-${index === 0 ? 'A' : 'B'}`}
            >
              {outcomes.length > 1 && <h2>{index === 0 ? 'A' : 'B'}</h2>}
              {'problem' in outcome ? (
                <ProblemNotice error={outcome.problem} />
              ) : (
                <>
                  <Snippets request={outcome.request} />
                  <ResultList
                    answer={outcome.answer}
                    timings={outcome.timings}
                    collection={outcome.request.collection}
                    otherRanks={outcomes.length > 1 ? ranksOf(outcomes[1 - index]) : undefined}
                  />
                </>
              )}
            </section>
          ))}
        </div>
      )}
    </section>
  );
}

function Snippets({ request }: { request: SearchRequest }) {
  const base = gatewayUrl();
  const snippets = [
    ['curl', curlSnippet(base, request)],
    ['rag search', cliSnippet(base, request)],
    ['SDK', sdkSnippet(base, request)],
  ] as const;
  return (
    <details class="snippets">
      <summary>Request as JSON, curl, rag search or SDK code</summary>
      <pre data-testid="request-json">{JSON.stringify(request, null, 2)}</pre>
      {snippets.map(([name, text]) => (
        <div key={name} class="snippet">
          <div class="snippet-head">
            <strong>{name}</strong> <CopyButton text={text} label={`Copy as ${name}`} />
          </div>
          <pre>{text}</pre>
        </div>
      ))}
    </details>
  );
}
