import type { CollectionSummary } from '@rag/client/rag-client';
import { useEffect, useState } from 'preact/hooks';
import type { ScreenProps } from '../app.js';
import { confirmAction } from '../components/confirm-dialog.js';
import { ProblemNotice } from '../components/problem-notice.js';
import { useLoad } from '../components/use-load.js';
import { formatTime } from '../format.js';
import { routeHref } from '../hash-route.js';

/** While a collection moves to another model, the list is read again this often to follow its progress. */
const reindexPollMs = 2000;

/** The collection's model, and while it moves to another one, the move's progress (documents done of total). */
function ModelCell({ collection }: { collection: CollectionSummary }) {
  const reindex = collection.reindex?.state === 'running' ? collection.reindex : null;
  return (
    <td data-testid="model">
      {collection.model ?? 'the default model'}
      {reindex && (
        <span class="sub" data-testid="list-reindex">
          <br />
          moving to {reindex.to_model}: {reindex.documents.done}/{reindex.documents.total}{' '}
          <progress
            aria-label={`Move of ${collection.name} to ${reindex.to_model}`}
            max={Math.max(reindex.documents.total, 1)}
            value={reindex.documents.done}
          />
        </span>
      )}
    </td>
  );
}

/**
 * The collections the credential may use, with their documents by status, chunks and model (and a running
 * move's progress, followed until it ends); create and delete.
 */
export function CollectionsPage({ client, credential }: ScreenProps) {
  const isAdmin = credential.role === 'admin';
  const collections = useLoad(async () => {
    const { collections } = await client.listCollections();
    return Promise.all(collections.map((c) => client.getCollection(c.name)));
  }, [client]);
  const [name, setName] = useState('');
  const [problem, setProblem] = useState<unknown>(null);
  const moving = collections.data?.some((c) => c.reindex?.state === 'running') ?? false;

  useEffect(() => {
    if (!moving || collections.loading) return;
    const timer = setTimeout(collections.reload, reindexPollMs);
    return () => clearTimeout(timer);
  }, [moving, collections.loading, collections.data]);

  async function create(event: Event) {
    event.preventDefault();
    setProblem(null);
    try {
      await client.createCollection({ name: name.trim() });
      setName('');
      collections.reload();
    } catch (error) {
      setProblem(error);
    }
  }

  async function remove(collection: CollectionSummary) {
    const sure = await confirmAction(
      `Delete collection "${collection.name}" with its ${collection.documents.total} documents? This cannot be undone.`,
      'Delete collection',
    );
    if (!sure) return;
    setProblem(null);
    try {
      await client.deleteCollection(collection.name);
      collections.reload();
    } catch (error) {
      setProblem(error);
    }
  }

  return (
    <section aria-labelledby="collections-title">
      <h1 id="collections-title">Collections</h1>
      {isAdmin && (
        <form class="inline-form" onSubmit={create}>
          <label for="new-collection">New collection</label>
          <input
            id="new-collection"
            value={name}
            required
            aria-describedby="new-collection-hint"
            onInput={(event) => setName(event.currentTarget.value)}
          />
          <button type="submit">Create</button>
          <span id="new-collection-hint" class="hint">
            lower-case letters, digits, - and _
          </span>
        </form>
      )}
      <ProblemNotice error={problem ?? collections.error} />
      {collections.data && collections.data.length === 0 && <p>No collections yet.</p>}
      {collections.data && collections.data.length > 0 && (
        <div class="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Documents</th>
                <th scope="col">Ready</th>
                <th scope="col">In progress</th>
                <th scope="col">Failed</th>
                <th scope="col">Chunks</th>
                <th scope="col">Model</th>
                <th scope="col">Last change</th>
                <th scope="col">
                  <span class="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {collections.data.map((c) => (
                <tr key={c.name} data-collection={c.name}>
                  <th scope="row">
                    <a href={routeHref({ screen: 'documents', collection: c.name })}>{c.name}</a>
                  </th>
                  <td>{c.documents.total}</td>
                  <td>{c.documents.ready}</td>
                  <td>{c.documents.queued + c.documents.processing}</td>
                  <td>{c.documents.failed}</td>
                  <td>{c.chunks}</td>
                  <ModelCell collection={c} />
                  <td>{formatTime(c.last_changed_at)}</td>
                  <td class="actions">
                    <a class="button secondary" href={routeHref({ screen: 'search', collection: c.name })}>
                      Search
                    </a>
                    {isAdmin && (
                      <button type="button" class="danger" onClick={() => remove(c)}>
                        Delete<span class="visually-hidden"> {c.name}</span>
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
