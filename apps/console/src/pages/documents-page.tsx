import type { DocumentInfo } from '@rag/client/rag-client';
import { type DocumentStatus, documentStatuses } from '@rag/contracts/public-api';
import { useEffect, useState } from 'preact/hooks';
import type { ScreenProps } from '../app.js';
import { ModelPanel } from '../collections/model-panel.js';
import { ProblemNotice } from '../components/problem-notice.js';
import { StatusBadge } from '../components/status-badge.js';
import { useLoad } from '../components/use-load.js';
import { UploadPanel } from '../documents/upload-panel.js';
import { formatTime } from '../format.js';
import { routeHref } from '../hash-route.js';

const pageSize = 25;
/** While documents are queued or processing, the list refreshes itself this often. */
const refreshMs = 2000;

/** A collection's documents, newest first, filtered by status and external_id prefix; uploads. */
export function DocumentsPage({ client, credential, collection }: ScreenProps & { collection: string }) {
  const canWrite = credential.role !== 'reader';
  const [statuses, setStatuses] = useState<DocumentStatus[]>([]);
  const [prefix, setPrefix] = useState('');
  const [pages, setPages] = useState<{ documents: DocumentInfo[]; next: string | null }>({
    documents: [],
    next: null,
  });
  const [changed, setChanged] = useState(0);
  const summary = useLoad(() => client.getCollection(collection), [client, collection, changed]);
  const first = useLoad(
    () =>
      client.listDocuments(collection, {
        limit: pageSize,
        status: statuses,
        ...(prefix ? { external_id_prefix: prefix } : {}),
      }),
    [client, collection, statuses.join(), prefix, changed],
  );
  useEffect(() => {
    if (first.data) setPages({ documents: first.data.documents, next: first.data.next_cursor });
  }, [first.data]);

  const inProgress = pages.documents.some((d) => d.status === 'queued' || d.status === 'processing');
  useEffect(() => {
    if (!inProgress) return;
    const timer = setTimeout(() => setChanged((n) => n + 1), refreshMs);
    return () => clearTimeout(timer);
  }, [inProgress, pages]);

  const [moreProblem, setMoreProblem] = useState<unknown>(null);
  async function more() {
    if (!pages.next) return;
    try {
      const page = await client.listDocuments(collection, {
        limit: pageSize,
        cursor: pages.next,
        status: statuses,
        ...(prefix ? { external_id_prefix: prefix } : {}),
      });
      setPages((p) => ({ documents: [...p.documents, ...page.documents], next: page.next_cursor }));
    } catch (error) {
      setMoreProblem(error);
    }
  }

  const counts = summary.data?.documents;
  return (
    <section aria-labelledby="documents-title">
      <p class="crumbs">
        <a href={routeHref({ screen: 'collections' })}>Collections</a> /
      </p>
      <h1 id="documents-title">{collection}</h1>
      {counts && (
        <p class="summary" data-testid="collection-summary">
          {counts.total} documents · {counts.ready} ready · {counts.queued + counts.processing} in progress ·{' '}
          {counts.failed} failed · {summary.data?.chunks} chunks · last change{' '}
          {formatTime(summary.data?.last_changed_at)} ·{' '}
          <a href={routeHref({ screen: 'search', collection })}>search it</a>
        </p>
      )}
      <ProblemNotice error={summary.error} />
      {summary.data && (
        <ModelPanel
          key={collection}
          client={client}
          isAdmin={credential.role === 'admin'}
          collection={collection}
          summary={summary.data}
          onChange={() => setChanged((n) => n + 1)}
        />
      )}
      {canWrite && (
        <UploadPanel client={client} collection={collection} onChange={() => setChanged((n) => n + 1)} />
      )}
      <h2>Documents</h2>
      <form class="filters" onSubmit={(event) => event.preventDefault()}>
        <fieldset>
          <legend>Status</legend>
          {documentStatuses.map((status) => (
            <label key={status} class="check">
              <input
                type="checkbox"
                checked={statuses.includes(status)}
                onChange={(event) =>
                  setStatuses((all) =>
                    event.currentTarget.checked ? [...all, status] : all.filter((s) => s !== status),
                  )
                }
              />
              {status}
            </label>
          ))}
        </fieldset>
        <label>
          external_id starts with
          <input value={prefix} onInput={(event) => setPrefix(event.currentTarget.value)} />
        </label>
      </form>
      <ProblemNotice error={first.error ?? moreProblem} />
      <div class="table-wrap">
        <table>
          <thead>
            <tr>
              <th scope="col">Title / external id</th>
              <th scope="col">Status</th>
              <th scope="col">Version</th>
              <th scope="col">Chunks</th>
              <th scope="col">Type</th>
              <th scope="col">Updated</th>
            </tr>
          </thead>
          <tbody>
            {pages.documents.map((d) => (
              <tr key={d.id} data-document={d.external_id ?? d.id}>
                <th scope="row">
                  <a href={routeHref({ screen: 'document', collection, id: d.id })}>
                    {d.title || d.external_id || d.id}
                  </a>
                  {d.title && d.external_id && <div class="sub">{d.external_id}</div>}
                </th>
                <td>
                  <StatusBadge status={d.status} />
                </td>
                <td>
                  {d.version}
                  {d.ready_version != null && d.ready_version !== d.version
                    ? ` (searching v${d.ready_version})`
                    : ''}
                </td>
                <td>{d.chunks}</td>
                <td>{d.media_type ?? '—'}</td>
                <td>{formatTime(d.updated_at)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {!first.loading && pages.documents.length === 0 && <p>No documents match.</p>}
      {pages.next && (
        <button type="button" class="secondary" onClick={more}>
          Load more
        </button>
      )}
    </section>
  );
}
