import type { CollectionSummary, ModelList, RagClient, ReindexStatus } from '@rag/client/rag-client';
import { useEffect, useState } from 'preact/hooks';
import { confirmAction } from '../components/confirm-dialog.js';
import { ProblemNotice } from '../components/problem-notice.js';
import { useLoad } from '../components/use-load.js';
import { formatTime } from '../format.js';

/** While a reindex runs, its progress is asked for this often. */
const pollMs = 1000;

type Reindex = NonNullable<CollectionSummary['reindex']> | ReindexStatus;

function modelLabel(model: string | null, models: ModelList | null): string {
  if (model !== null) return model;
  const fallback = models?.data.find((m) => m.default)?.id;
  return fallback ? `the default model (${fallback})` : 'the default model';
}

/** How an ended move reads: where it went, or why it did not. */
function endedLine(reindex: Reindex): string {
  const when = formatTime(reindex.finished_at);
  switch (reindex.state) {
    case 'switched':
      return `Moved from ${reindex.from_model ?? 'the default model'} to ${reindex.to_model} (${when}).`;
    case 'cancelled':
      return `The move to ${reindex.to_model} was cancelled (${when}); the collection stayed on its model.`;
    default:
      return `The move to ${reindex.to_model} failed (${when})${reindex.error ? `: ${reindex.error}` : ''}; the collection stayed on its model.`;
  }
}

/**
 * The collection's embedding model and its move to another one: progress while a move runs (followed until it
 * ends), and for admins "Change model" (a served model, confirmed first) and "Cancel".
 */
export function ModelPanel({
  client,
  isAdmin,
  collection,
  summary,
  onChange,
}: {
  client: RagClient;
  isAdmin: boolean;
  collection: string;
  summary: CollectionSummary;
  /** The move started or ended: the collection (its model) is read again. */
  onChange: () => void;
}) {
  const models = useLoad(() => client.listModels(), [client]);
  const [status, setStatus] = useState<ReindexStatus | null>(null);
  const [target, setTarget] = useState('');
  const [problem, setProblem] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  // The reindex route's answer once this page has one (it has the rate), unless the collection shows a newer move.
  const newer = summary.reindex && status && summary.reindex.started_at > status.started_at;
  const reindex: Reindex | null = status && !newer ? status : summary.reindex;
  const running = reindex?.state === 'running';

  useEffect(() => {
    if (!running) return;
    let current = true;
    const timer = setTimeout(async () => {
      try {
        const next = await client.getReindex(collection);
        if (!current) return;
        setStatus(next);
        if (next.state !== 'running') onChange();
      } catch (error) {
        if (current) setProblem(error);
      }
    }, pollMs);
    return () => {
      current = false;
      clearTimeout(timer);
    };
  }, [client, collection, running, reindex]);

  const current = summary.model ?? models.data?.data.find((m) => m.default)?.id ?? null;
  const choices = (models.data?.data ?? []).filter((m) => m.id !== current);

  async function change(event: Event) {
    event.preventDefault();
    const model = target || choices[0]?.id;
    if (!model) return;
    const sure = await confirmAction(
      `Move collection "${collection}" to ${model}? Every document is embedded again with it; searches keep using ${modelLabel(summary.model, models.data)} until the switch.`,
      'Change model',
    );
    if (!sure) return;
    setProblem(null);
    setBusy(true);
    try {
      setStatus(await client.startReindex(collection, { model }));
      setTarget('');
    } catch (error) {
      setProblem(error);
    } finally {
      setBusy(false);
    }
  }

  async function cancel() {
    if (!reindex) return;
    const sure = await confirmAction(
      `Cancel the move of "${collection}" to ${reindex.to_model}? What was embedded so far is removed; the collection stays on its model.`,
      'Cancel move',
    );
    if (!sure) return;
    setProblem(null);
    setBusy(true);
    try {
      setStatus(await client.cancelReindex(collection));
      onChange();
    } catch (error) {
      setProblem(error);
    } finally {
      setBusy(false);
    }
  }

  const done = reindex?.documents.done ?? 0;
  const total = reindex?.documents.total ?? 0;
  const rate = status !== null && reindex === status ? status : null;
  return (
    <section class="model-panel" aria-labelledby="model-title" data-testid="model-panel">
      <h2 id="model-title">Model</h2>
      <p data-testid="collection-model">
        <strong>{modelLabel(summary.model, models.data)}</strong>
        {summary.model_manifest_hash && (
          <span class="sub" title={summary.model_manifest_hash}>
            {' '}
            · manifest {summary.model_manifest_hash.slice(0, 12)}
          </span>
        )}
      </p>
      {reindex && running && (
        <div class="reindex" data-testid="reindex" data-state={reindex.state}>
          <p id="reindex-progress-label">
            Moving to <strong>{reindex.to_model}</strong>: {done} of {total} documents
          </p>
          <progress
            aria-labelledby="reindex-progress-label"
            max={Math.max(total, 1)}
            value={total === 0 ? 0 : done}
          />
          <p class="hint" aria-live="polite">
            Started {formatTime(reindex.started_at)}
            {rate?.documents_per_second != null && ` · ${rate.documents_per_second} documents/s`}
            {rate?.eta_seconds != null && ` · about ${rate.eta_seconds} s left`}. Searches use the current
            model until the switch.
          </p>
          {isAdmin && (
            <button type="button" class="danger" disabled={busy} onClick={cancel}>
              Cancel move
            </button>
          )}
        </div>
      )}
      {reindex && !running && (
        <p class="hint" data-testid="reindex" data-state={reindex.state} aria-live="polite">
          {endedLine(reindex)}
        </p>
      )}
      {isAdmin && !running && choices.length > 0 && (
        <form class="inline-form" onSubmit={change}>
          <label for="change-model">Change model</label>
          <select
            id="change-model"
            value={target || choices[0]?.id}
            onChange={(event) => setTarget(event.currentTarget.value)}
          >
            {choices.map((m) => (
              <option key={m.id} value={m.id}>
                {m.id} ({m.dimensions} dimensions)
              </option>
            ))}
          </select>
          <button type="submit" disabled={busy}>
            Change model
          </button>
        </form>
      )}
      <ProblemNotice error={problem ?? (isAdmin ? models.error : null)} />
    </section>
  );
}
