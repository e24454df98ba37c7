import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { isRagApiError } from '@rag/client/rag-api-error';
import type { RagClient } from '@rag/client/rag-client';
import { createProgressReporter } from '@rag/models/progress-reporter';
import type { Output } from './cli-io.js';
import { classifyFile, type FileVerdict } from './file-classifier.js';
import { walkFiles } from './folder-walker.js';
import { mapWithConcurrency } from './task-pool.js';
import { UsageError } from './usage-error.js';

export interface IngestOptions {
  folder: string;
  collection: string;
  concurrency: number;
  /** Empty for every file. */
  extensions: readonly string[];
  wait: boolean;
  waitTimeoutMs: number;
  pollIntervalMs?: number;
}

export interface IngestSummary {
  files: number;
  queued: number;
  unchanged: number;
  skipped: Array<{ file: string; reason: string }>;
  /** Documents seen ready, with --wait only. */
  ready: number;
  /** Documents the server reported failed (or refused), with its reason. */
  failed: Array<{ file: string; reason: string }>;
  /** With --wait: documents the server had not finished when the wait ran out (not failed). */
  unfinished: Array<{ file: string; reason: string }>;
}

/** external_id's limit in the public API. */
const maxExternalIdLength = 256;

/** Answers that refuse a file for what it is (too large, a type the server does not read): not failures. */
const refusalStatuses = new Set([413, 415]);

type Upload =
  | { file: string; outcome: 'queued' | 'unchanged'; id: string; status: string }
  | { file: string; outcome: 'skipped'; reason: string }
  | { file: string; outcome: 'failed'; reason: string };

/**
 * Uploads every file under a folder that the server reads (decided by content, as the server decides) as a
 * document of a collection, its path relative to the folder as the external id, so that running it again on
 * the same folder changes nothing (the same bytes under the same id are a no-op) and a changed file becomes
 * the next version. Files stream from disk. With `wait`, it then follows every document to ready or failed.
 */
export async function ingestFolder(
  client: RagClient,
  options: IngestOptions,
  log: Output,
): Promise<IngestSummary> {
  await requireFolder(options.folder);

  // Fail once, before any upload, for a wrong key, an unreachable gateway or a missing collection.
  const { collections } = await client.listCollections();
  if (!collections.some((c) => c.name === options.collection)) {
    throw new UsageError(
      `Collection "${options.collection}" does not exist or the key may not use it (create it with: rag collections create ${options.collection})`,
    );
  }

  const files = await walkFiles(options.folder, { extensions: options.extensions });
  const progress = createProgressReporter(log);
  const uploading = progress.task('upload', files.length, 'items');
  const uploads = await mapWithConcurrency(files, options.concurrency, async (file): Promise<Upload> => {
    try {
      const outcome = await upload(client, options, file);
      if (outcome.outcome === 'skipped') progress.note(`skipped ${file}: ${outcome.reason}`);
      return outcome;
    } finally {
      uploading.advance(file);
    }
  });
  uploading.finish();

  const summary: IngestSummary = {
    files: files.length,
    queued: 0,
    unchanged: 0,
    skipped: [],
    ready: 0,
    failed: [],
    unfinished: [],
  };
  const pending: Array<{ file: string; id: string }> = [];
  for (const upload of uploads) {
    if (upload.outcome === 'skipped') summary.skipped.push({ file: upload.file, reason: upload.reason });
    else if (upload.outcome === 'failed') summary.failed.push({ file: upload.file, reason: upload.reason });
    else {
      summary[upload.outcome]++;
      if (!options.wait) continue;
      // An unchanged document may already be done; only the others need polling.
      if (upload.status === 'ready') summary.ready++;
      else pending.push({ file: upload.file, id: upload.id });
    }
  }
  if (!options.wait) return summary;

  const waiting = progress.task('indexing', pending.length, 'items');
  await mapWithConcurrency(pending, options.concurrency, async ({ file, id }) => {
    try {
      const document = await client.waitForDocument(id, {
        statuses: ['ready', 'failed'],
        timeoutMs: options.waitTimeoutMs,
        intervalMs: options.pollIntervalMs ?? 500,
      });
      if (document.status === 'ready') summary.ready++;
      else summary.failed.push({ file, reason: document.error ?? 'indexing failed' });
    } catch (error) {
      // The server did not say failed: the document may still become ready.
      if (isRagApiError(error) && error.code === 'timeout')
        summary.unfinished.push({ file, reason: error.detail });
      else summary.failed.push({ file, reason: reasonOf(error) });
    } finally {
      waiting.advance(file);
    }
  });
  waiting.finish();
  for (const list of [summary.failed, summary.unfinished]) list.sort(byFile);
  return summary;
}

/** What `--dry-run` prints: every file with what would happen to it, and nothing sent. */
export async function planFolder(
  options: Pick<IngestOptions, 'folder' | 'extensions'>,
): Promise<Array<{ file: string; verdict: FileVerdict }>> {
  await requireFolder(options.folder);
  const files = await walkFiles(options.folder, { extensions: options.extensions });
  const plan = [];
  for (const file of files) plan.push({ file, verdict: await verdictOf(options.folder, file) });
  return plan;
}

export function formatPlan(plan: Array<{ file: string; verdict: FileVerdict }>): string {
  const lines = plan.map(({ file, verdict }) =>
    verdict.kind === 'send'
      ? `send  ${file}  ${verdict.format}, ${formatBytes(verdict.size)}`
      : `skip  ${file}  ${verdict.reason}`,
  );
  const sent = plan.filter((p) => p.verdict.kind === 'send').length;
  lines.push(`${plan.length} files: ${sent} would be sent, ${plan.length - sent} skipped`);
  return `${lines.join('\n')}\n`;
}

async function requireFolder(folder: string): Promise<void> {
  const folderStat = await stat(folder).catch(() => undefined);
  if (!folderStat?.isDirectory()) throw new UsageError(`${folder} is not a folder`);
}

async function verdictOf(folder: string, file: string): Promise<FileVerdict> {
  if (file.length > maxExternalIdLength) {
    return { kind: 'skip', reason: `the path is longer than ${maxExternalIdLength} characters`, size: 0 };
  }
  return classifyFile(join(folder, file));
}

async function upload(client: RagClient, options: IngestOptions, file: string): Promise<Upload> {
  const verdict = await verdictOf(options.folder, file);
  if (verdict.kind === 'skip') return { file, outcome: 'skipped', reason: verdict.reason };
  try {
    // No title: the server takes the file's own (PDF and Office properties, HTML <title>, the first
    // Markdown heading), else its name.
    const accepted = await client.uploadDocument(options.collection, {
      path: join(options.folder, file),
      external_id: file,
    });
    return {
      file,
      outcome: accepted.unchanged ? 'unchanged' : 'queued',
      id: accepted.id,
      status: accepted.status,
    };
  } catch (error) {
    if (isRagApiError(error) && refusalStatuses.has(error.status))
      return { file, outcome: 'skipped', reason: error.detail };
    return { file, outcome: 'failed', reason: reasonOf(error) };
  }
}

function reasonOf(error: unknown): string {
  if (isRagApiError(error)) {
    return error.requestId ? `${error.detail} (request id ${error.requestId})` : error.detail;
  }
  return error instanceof Error ? error.message : String(error);
}

function byFile(a: { file: string }, b: { file: string }): number {
  return a.file < b.file ? -1 : a.file > b.file ? 1 : 0;
}

function formatBytes(size: number): string {
  if (size < 1024) return `${size} B`;
  if (size < 1024 * 1024) return `${(size / 1024).toFixed(1)} KiB`;
  return `${(size / 1024 / 1024).toFixed(1)} MiB`;
}

export function formatIngestSummary(summary: IngestSummary, waited: boolean): string {
  const lines = [
    `${summary.files} files: ${summary.queued} queued, ${summary.unchanged} unchanged, ${summary.skipped.length} skipped`,
  ];
  if (waited) {
    lines.push(
      `${summary.ready} ready, ${summary.failed.length} failed` +
        (summary.unfinished.length > 0 ? `, ${summary.unfinished.length} not finished` : ''),
    );
  } else if (summary.failed.length > 0) lines.push(`${summary.failed.length} failed`);
  for (const { file, reason } of summary.failed) lines.push(`  failed ${file}: ${reason}`);
  for (const { file, reason } of summary.unfinished) lines.push(`  not finished ${file}: ${reason}`);
  return `${lines.join('\n')}\n`;
}
