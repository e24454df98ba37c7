import type { DocumentChunks, DocumentInfo } from '@rag/client/rag-client';
import { useEffect, useState } from 'preact/hooks';
import type { ScreenProps } from '../app.js';
import { confirmAction } from '../components/confirm-dialog.js';
import { ProblemNotice } from '../components/problem-notice.js';
import { StatusBadge } from '../components/status-badge.js';
import { useLoad } from '../components/use-load.js';
import { formatTime } from '../format.js';
import { routeHref } from '../hash-route.js';

/** A document: its fields, ACL, versions, error, chunks with page and heading path; edit and delete. */
export function DocumentPage({
  client,
  credential,
  collection,
  id,
}: ScreenProps & { collection: string; id: string }) {
  const canWrite = credential.role !== 'reader';
  const document = useLoad(() => client.getDocument(id), [client, id]);
  const [shown, setShown] = useState<DocumentInfo | null>(null);
  useEffect(() => {
    if (document.data) setShown(document.data);
  }, [document.data]);
  const [problem, setProblem] = useState<unknown>(null);

  // Follows a document still being indexed, as the upload panel does.
  useEffect(() => {
    if (!shown || (shown.status !== 'queued' && shown.status !== 'processing')) return;
    const timer = setTimeout(() => document.reload(), 1500);
    return () => clearTimeout(timer);
  }, [shown, document.reload]);

  async function remove() {
    if (
      !shown ||
      !(await confirmAction(
        `Delete "${shown.title ?? shown.external_id ?? shown.id}" from every store?`,
        'Delete document',
      ))
    )
      return;
    try {
      await client.deleteDocument(id);
      window.location.hash = routeHref({ screen: 'documents', collection });
    } catch (error) {
      setProblem(error);
    }
  }

  return (
    <section aria-labelledby="document-title">
      <p class="crumbs">
        <a href={routeHref({ screen: 'collections' })}>Collections</a> /{' '}
        <a href={routeHref({ screen: 'documents', collection })}>{collection}</a> /
      </p>
      <ProblemNotice error={document.error ?? problem} />
      {shown && (
        <>
          <h1 id="document-title">{shown.title || shown.external_id || shown.id}</h1>
          <dl class="fields">
            <dt>Status</dt>
            <dd>
              <StatusBadge status={shown.status} />
            </dd>
            {shown.error && (
              <>
                <dt>Error</dt>
                <dd class="error-text" data-testid="document-error">
                  {shown.error}
                </dd>
              </>
            )}
            <dt>Id</dt>
            <dd>
              <code>{shown.id}</code>
            </dd>
            <dt>External id</dt>
            <dd>{shown.external_id ?? '—'}</dd>
            <dt>Version</dt>
            <dd>
              {shown.version} (searches see{' '}
              {shown.ready_version == null ? 'no version yet' : `v${shown.ready_version}`})
            </dd>
            <dt>Chunks</dt>
            <dd>{shown.chunks}</dd>
            <dt>File</dt>
            <dd>
              {[
                shown.filename,
                shown.media_type,
                shown.page_count != null ? `${shown.page_count} pages` : null,
              ]
                .filter(Boolean)
                .join(' · ') || 'text sent inline'}
            </dd>
            <dt>Content hash</dt>
            <dd>
              <code>{shown.content_hash.slice(0, 16)}…</code>
            </dd>
            <dt>ACL</dt>
            <dd data-testid="document-acl">
              {shown.acl && shown.acl.length > 0 ? shown.acl.join(', ') : 'everyone in the tenant'}
            </dd>
            <dt>Metadata</dt>
            <dd>
              <pre>{JSON.stringify(shown.metadata, null, 2)}</pre>
            </dd>
            <dt>Created / updated</dt>
            <dd>
              {formatTime(shown.created_at)} / {formatTime(shown.updated_at)}
            </dd>
          </dl>
          {canWrite && (
            <EditForm
              document={shown}
              onSave={async (fields) => {
                setProblem(null);
                try {
                  setShown(await client.updateDocument(id, fields));
                } catch (error) {
                  setProblem(error);
                }
              }}
              onDelete={remove}
            />
          )}
          <Chunks client={client} id={id} readyVersion={shown.ready_version ?? null} />
        </>
      )}
    </section>
  );
}

type Fields = { title: string | null; metadata: Record<string, never>; acl: string[] | null };

function EditForm({
  document,
  onSave,
  onDelete,
}: {
  document: DocumentInfo;
  onSave: (fields: Fields) => Promise<void>;
  onDelete: () => void;
}) {
  const [title, setTitle] = useState(document.title ?? '');
  const [metadata, setMetadata] = useState(JSON.stringify(document.metadata, null, 2));
  const [acl, setAcl] = useState((document.acl ?? []).join('\n'));
  const [invalid, setInvalid] = useState<string | null>(null);

  return (
    <form
      class="edit"
      onSubmit={async (event) => {
        event.preventDefault();
        let parsed: unknown;
        try {
          parsed = JSON.parse(metadata || '{}');
        } catch {
          setInvalid('Metadata must be a JSON object');
          return;
        }
        if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
          setInvalid('Metadata must be a JSON object');
          return;
        }
        setInvalid(null);
        const principals = acl
          .split(/[\n,]/)
          .map((p) => p.trim())
          .filter(Boolean);
        await onSave({
          title: title.trim() === '' ? null : title,
          metadata: parsed as Record<string, never>,
          acl: principals.length > 0 ? principals : null,
        });
      }}
    >
      <h2>Edit</h2>
      <p class="hint">Title, metadata and ACL change in place: nothing is re-indexed.</p>
      <label>
        Title
        <input value={title} onInput={(event) => setTitle(event.currentTarget.value)} />
      </label>
      <label>
        Metadata (JSON)
        <textarea
          rows={5}
          spellcheck={false}
          value={metadata}
          onInput={(event) => setMetadata(event.currentTarget.value)}
        />
      </label>
      <label>
        ACL principals, one per line (empty: everyone in the tenant)
        <textarea rows={3} value={acl} onInput={(event) => setAcl(event.currentTarget.value)} />
      </label>
      {invalid && (
        <p class="problem" role="alert">
          {invalid}
        </p>
      )}
      <div class="buttons">
        <button type="submit">Save</button>
        <button type="button" class="danger" onClick={onDelete}>
          Delete document
        </button>
      </div>
    </form>
  );
}

function Chunks({
  client,
  id,
  readyVersion,
}: {
  client: ScreenProps['client'];
  id: string;
  readyVersion: number | null;
}) {
  const [chunks, setChunks] = useState<DocumentChunks['chunks']>([]);
  const [next, setNext] = useState<string | null>(null);
  const [problem, setProblem] = useState<unknown>(null);

  async function load(cursor?: string) {
    try {
      const page = await client.getDocumentChunks(id, { limit: 20, ...(cursor ? { cursor } : {}) });
      setChunks((all) => (cursor ? [...all, ...page.chunks] : page.chunks));
      setNext(page.next_cursor);
    } catch (error) {
      setProblem(error);
    }
  }
  useEffect(() => {
    void load();
  }, [id, readyVersion]);

  return (
    <section aria-labelledby="chunks-title">
      <h2 id="chunks-title">Chunks{readyVersion != null ? ` of version ${readyVersion}` : ''}</h2>
      <ProblemNotice error={problem} />
      {chunks.length === 0 && <p>No chunks yet: the document has no ready version.</p>}
      <ol class="chunks">
        {chunks.map((chunk) => (
          <li key={chunk.chunk_id} data-testid="chunk">
            <div class="chunk-where">
              #{chunk.position + 1}
              {chunk.page != null && ` · page ${chunk.page}`}
              {chunk.heading_path.length > 0 && ` · ${chunk.heading_path.join(' › ')}`}
              {` · chars ${chunk.start_offset}–${chunk.end_offset}`}
            </div>
            <p class="chunk-text">{chunk.text}</p>
          </li>
        ))}
      </ol>
      {next && (
        <button type="button" class="secondary" onClick={() => load(next)}>
          More chunks
        </button>
      )}
    </section>
  );
}
