import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { AppError } from '@rag/contracts/app-error';
import type { ObjectStorage } from '@rag/storage/object-storage';
import busboy from 'busboy';
import type { Request } from 'express';

export interface UploadedFile {
  /** Where the file now lives in object storage. */
  key: string;
  size: number;
  sha256: string;
  filename: string | null;
  /** As the client declared it; the worker detects the real type from the content. */
  declaredType: string | null;
}

export interface ParsedUpload {
  /** Text fields by name (the JSON `document` field among them). */
  fields: Record<string, string>;
  file: UploadedFile;
}

export interface UploadLimits {
  maxFileBytes: number;
  maxFieldBytes: number;
}

/**
 * Reads a multipart/form-data upload: one `file` part and text fields. The file streams through a hash into
 * a temporary file (never into memory) and from there into object storage; a file over the limit stops the
 * upload with 413 as soon as the limit is crossed. Fields are small and capped.
 */
export async function receiveUpload(
  req: Request,
  storage: ObjectStorage,
  keyPrefix: string,
  limits: UploadLimits,
): Promise<ParsedUpload> {
  const scratch = await mkdtemp(join(tmpdir(), 'rag-upload-'));
  try {
    const received = await readParts(req, join(scratch, 'file'), limits);
    const key = `${keyPrefix}/${randomUUID()}/${safeFilename(received.filename)}`;
    const { size } = await stat(join(scratch, 'file'));
    await storage.put(key, createReadStream(join(scratch, 'file')), {
      size,
      ...(received.declaredType ? { contentType: received.declaredType } : {}),
    });
    return {
      fields: received.fields,
      file: {
        key,
        size,
        sha256: received.sha256,
        filename: received.filename,
        declaredType: received.declaredType,
      },
    };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

interface ReceivedParts {
  fields: Record<string, string>;
  sha256: string;
  filename: string | null;
  declaredType: string | null;
}

function readParts(req: Request, filePath: string, limits: UploadLimits): Promise<ReceivedParts> {
  return new Promise((resolve, reject) => {
    let parser: busboy.Busboy;
    try {
      parser = busboy({
        headers: req.headers,
        // Browsers and our client send file names as UTF-8 (busboy's default reads them as Latin-1).
        defParamCharset: 'utf8',
        limits: {
          files: 1,
          fields: 20,
          fieldSize: limits.maxFieldBytes,
          fileSize: limits.maxFileBytes,
          parts: 25,
        },
      });
    } catch (error) {
      reject(new AppError('bad_request', `Malformed multipart request: ${(error as Error).message}`));
      return;
    }
    const fields: Record<string, string> = {};
    let fileDone:
      | Promise<{ sha256: string; filename: string | null; declaredType: string | null }>
      | undefined;
    let failed = false;
    const fail = (error: AppError) => {
      if (failed) return;
      failed = true;
      req.unpipe(parser);
      req.resume();
      reject(error);
    };

    parser.on('field', (name, value, info) => {
      if (info.valueTruncated) {
        fail(new AppError('payload_too_large', `Field "${name}" is over ${limits.maxFieldBytes} bytes`));
        return;
      }
      fields[name] = value;
    });
    parser.on('file', (name, stream, info) => {
      if (name !== 'file') {
        stream.resume();
        fail(new AppError('validation_failed', `Unexpected file field "${name}"; send the file as "file"`));
        return;
      }
      const hash = createHash('sha256');
      stream.on('limit', () =>
        fail(
          new AppError(
            'payload_too_large',
            `The file is over the upload limit of ${limits.maxFileBytes} bytes`,
          ),
        ),
      );
      const hashing = new Transform({
        transform(chunk: Buffer, _encoding, done) {
          hash.update(chunk);
          done(null, chunk);
        },
      });
      fileDone = pipeline(stream, hashing, createWriteStream(filePath)).then(() => ({
        sha256: hash.digest('hex'),
        filename: info.filename || null,
        declaredType: info.mimeType && info.mimeType !== 'application/octet-stream' ? info.mimeType : null,
      }));
      fileDone.catch(() => {});
    });
    parser.on('filesLimit', () =>
      fail(new AppError('validation_failed', 'Send exactly one file per request')),
    );
    parser.on('partsLimit', () => fail(new AppError('payload_too_large', 'Too many parts in the upload')));
    parser.on('fieldsLimit', () => fail(new AppError('payload_too_large', 'Too many fields in the upload')));
    parser.on('error', (error: Error) =>
      fail(new AppError('bad_request', `Malformed multipart body: ${error.message}`)),
    );
    parser.on('close', () => {
      if (failed) return;
      if (!fileDone) {
        fail(new AppError('validation_failed', 'The upload has no "file" part'));
        return;
      }
      fileDone.then(
        (file) => {
          if (!failed) resolve({ fields, ...file });
        },
        (error: unknown) =>
          fail(new AppError('bad_request', `The upload broke off: ${(error as Error).message}`)),
      );
    });
    req.pipe(parser);
  });
}

/** The file name as the last part of the storage key: a safe alphabet, never a path. */
function safeFilename(filename: string | null): string {
  const cleaned = (filename ?? '')
    .split(/[\\/]/)
    .pop()!
    .replace(/[^\w.\-()]+/g, '_')
    .replace(/^\.+/, '')
    .slice(-200);
  return cleaned || 'upload';
}
