import type { RagClient } from '@rag/client/rag-client';
import { useRef, useState } from 'preact/hooks';
import { describeProblem } from '../components/problem-notice.js';
import { chosenFiles, droppedFiles, type PickedFile } from './dropped-files.js';

type Phase = 'waiting' | 'uploading' | 'queued' | 'processing' | 'ready' | 'failed' | 'refused';

interface UploadItem {
  key: string;
  path: string;
  /** The share of the request sent, 0 to 1 (the multipart body is a little larger than the file). */
  sent: number;
  phase: Phase;
  documentId?: string;
  message?: string;
}

/** Uploads at once; more only queue up in the browser while these send. */
const parallelUploads = 3;
const pollMs = 1000;

/**
 * Drag and drop (files or whole folders) or pick files: each uploads with its own progress bar, then its
 * status is followed until the document is ready or failed, without reloading the page.
 */
export function UploadPanel({
  client,
  collection,
  onChange,
}: {
  client: RagClient;
  collection: string;
  onChange: () => void;
}) {
  const [items, setItems] = useState<UploadItem[]>([]);
  const [dragging, setDragging] = useState(false);
  const counter = useRef(0);

  const update = (key: string, change: Partial<UploadItem>) =>
    setItems((all) => all.map((item) => (item.key === key ? { ...item, ...change } : item)));

  async function follow(key: string, id: string) {
    for (;;) {
      await new Promise((resolve) => setTimeout(resolve, pollMs));
      try {
        const document = await client.getDocument(id);
        if (document.status === 'ready' || document.status === 'failed') {
          update(key, {
            phase: document.status,
            message: document.status === 'ready' ? `${document.chunks} chunks` : (document.error ?? 'failed'),
          });
          onChange();
          return;
        }
        if (document.status === 'queued' || document.status === 'processing') {
          update(key, { phase: document.status });
        }
      } catch (error) {
        update(key, { phase: 'refused', message: describeProblem(error).detail });
        return;
      }
    }
  }

  async function send(picked: PickedFile, key: string) {
    update(key, { phase: 'uploading' });
    try {
      const added = await client.uploadBlob(collection, {
        file: picked.file,
        filename: picked.file.name,
        external_id: picked.path,
        onProgress: (sent, total) => update(key, { sent: total > 0 ? Math.min(sent / total, 1) : 0 }),
      });
      update(key, {
        sent: 1,
        documentId: added.id,
        phase: added.status === 'ready' || added.status === 'failed' ? added.status : 'queued',
        ...(added.unchanged ? { message: 'unchanged: the same content was already there' } : {}),
      });
      onChange();
      if (added.status !== 'ready' && added.status !== 'failed') await follow(key, added.id);
    } catch (error) {
      const problem = describeProblem(error);
      update(key, { phase: 'refused', message: `${problem.title}: ${problem.detail}` });
    }
  }

  async function start(files: PickedFile[]) {
    const queued = files.map((picked) => ({ picked, key: `u${counter.current++}` }));
    setItems((all) => [
      ...queued.map(({ picked, key }) => ({
        key,
        path: picked.path,
        sent: 0,
        phase: 'waiting' as const,
      })),
      ...all,
    ]);
    let next = 0;
    const lane = async () => {
      while (next < queued.length) {
        const { picked, key } = queued[next++]!;
        await send(picked, key);
      }
    };
    await Promise.all(Array.from({ length: Math.min(parallelUploads, queued.length) }, lane));
  }

  return (
    <section class="upload" aria-labelledby="upload-title">
      <h2 id="upload-title">Upload</h2>
      {/* biome-ignore lint/a11y/noStaticElementInteractions: the drop zone is a pointer shortcut; the file pickers inside it are the keyboard path */}
      <div
        class={`drop-zone${dragging ? ' dragging' : ''}`}
        data-testid="drop-zone"
        onDragOver={(event) => {
          event.preventDefault();
          setDragging(true);
        }}
        onDragLeave={() => setDragging(false)}
        onDrop={async (event) => {
          event.preventDefault();
          setDragging(false);
          if (event.dataTransfer) await start(await droppedFiles(event.dataTransfer));
        }}
      >
        <p>Drop files or folders here (PDF, DOCX, XLSX, PPTX, HTML, Markdown, CSV, text), or</p>
        <label class="button secondary">
          choose files
          <input
            type="file"
            multiple
            class="visually-hidden"
            data-testid="file-input"
            onChange={(event) => {
              const input = event.currentTarget;
              if (input.files) void start(chosenFiles(input.files));
              input.value = '';
            }}
          />
        </label>
        <label class="button secondary">
          choose a folder
          <input
            type="file"
            multiple
            class="visually-hidden"
            data-testid="folder-input"
            // A property, not an attribute, to Preact: '' would set it to false and pick files, not a folder.
            {...{ webkitdirectory: true }}
            onChange={(event) => {
              const input = event.currentTarget;
              if (input.files) void start(chosenFiles(input.files));
              input.value = '';
            }}
          />
        </label>
      </div>
      {items.length > 0 && (
        <ul class="uploads" aria-live="polite">
          {items.map((item) => (
            <li key={item.key} data-upload={item.path} data-phase={item.phase}>
              <span class="upload-name">{item.path}</span>
              <progress max={1} value={item.sent} aria-label={`${item.path} upload progress`} />
              <span class={`status status-${item.phase}`}>{item.phase}</span>
              {item.message && <span class="upload-message">{item.message}</span>}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
