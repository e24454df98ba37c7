import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';

export interface FilePart {
  /** The file on disk; it is streamed, never read whole into memory. */
  path: string;
  /** The name the server sees (its extension is one hint among others); the path's own name by default. */
  filename?: string;
}

export interface MultipartBody {
  contentType: string;
  contentLength: number;
  /** A fresh stream of the whole body each call, so a turned-away upload can be sent again. */
  open(onBytes?: (sent: number) => void): AsyncIterable<Uint8Array>;
}

/**
 * A multipart/form-data body of text fields and one `file` part whose bytes come straight from disk. Its
 * length is known up front, so the upload is not chunked and the server can refuse an oversized file early.
 */
export async function multipartFileBody(
  fields: Record<string, string>,
  file: FilePart,
): Promise<MultipartBody> {
  const { size } = await stat(file.path);
  const boundary = `----rag-${randomBytes(12).toString('hex')}`;
  const filename = file.filename ?? basename(file.path);
  const head = Buffer.from(
    Object.entries(fields)
      .map(
        ([name, value]) =>
          `--${boundary}\r\nContent-Disposition: form-data; name="${quoted(name)}"\r\n\r\n${value}\r\n`,
      )
      .join('') +
      `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${quoted(filename)}"\r\n` +
      'Content-Type: application/octet-stream\r\n\r\n',
    'utf8',
  );
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`, 'utf8');
  return {
    contentType: `multipart/form-data; boundary=${boundary}`,
    contentLength: head.length + size + tail.length,
    async *open(onBytes) {
      let sent = 0;
      const count = (chunk: Uint8Array) => {
        sent += chunk.length;
        onBytes?.(sent);
        return chunk;
      };
      yield count(head);
      for await (const chunk of createReadStream(file.path)) yield count(chunk as Buffer);
      yield count(tail);
    },
  };
}

/**
 * Names go in as browsers send them (the HTML form-data encoding): UTF-8, with the three characters that
 * cannot stand inside the quotes percent-encoded. `filename*` would be cleaner but many parsers refuse it.
 */
function quoted(value: string): string {
  return value.replace(/"/g, '%22').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}
