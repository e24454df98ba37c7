import type { Readable } from 'node:stream';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { AppError, isAppError } from '@rag/contracts/app-error';
import { isSafeKey, type ObjectStorage } from './object-storage.js';

export interface S3StorageOptions {
  bucket: string;
  /** For S3-compatible servers (MinIO, Ceph, ...); leave out for AWS. */
  endpoint?: string | undefined;
  region: string;
  accessKeyId?: string | undefined;
  secretAccessKey?: string | undefined;
  /** Path-style URLs (`endpoint/bucket/key`), which most S3-compatible servers need. */
  forcePathStyle: boolean;
  /** Prepended to every key, so environments can share a bucket. */
  keyPrefix: string;
}

/** ObjectStorage on S3 or an S3-compatible server, through the AWS SDK. */
export function createS3Storage(options: S3StorageOptions): ObjectStorage {
  const client = new S3Client({
    region: options.region,
    forcePathStyle: options.forcePathStyle,
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    ...(options.accessKeyId && options.secretAccessKey
      ? { credentials: { accessKeyId: options.accessKeyId, secretAccessKey: options.secretAccessKey } }
      : {}),
  });
  const Bucket = options.bucket;

  function objectKey(key: string): string {
    if (!isSafeKey(key)) throw new AppError('bad_request', `Invalid storage key "${key}"`);
    return `${options.keyPrefix}${key}`;
  }

  async function s3<T>(operation: string, key: string, request: () => Promise<T>): Promise<T> {
    try {
      return await request();
    } catch (error) {
      if (isAppError(error)) throw error;
      if (error instanceof S3ServiceException && (error.name === 'NoSuchKey' || error.name === 'NotFound')) {
        throw new AppError('not_found', `No stored object "${key}"`);
      }
      const status = error instanceof S3ServiceException ? error.$metadata.httpStatusCode : undefined;
      // Client errors (bad credentials, missing bucket) will not heal by retrying; the rest may.
      const retryable = status === undefined || status >= 500 || status === 429;
      throw new AppError('dependency_unavailable', `Object storage ${operation} of "${key}" failed`, {
        cause: error,
        retryable,
        context: { status },
      });
    }
  }

  return {
    async put(key, body: Readable, { size, contentType }) {
      await s3('put', key, () =>
        client.send(
          new PutObjectCommand({
            Bucket,
            Key: objectKey(key),
            Body: body,
            ContentLength: size,
            ...(contentType ? { ContentType: contentType } : {}),
          }),
        ),
      );
    },

    async get(key, { maxBytes }) {
      const answer = await s3('get', key, () =>
        client.send(new GetObjectCommand({ Bucket, Key: objectKey(key) })),
      );
      const size = answer.ContentLength ?? 0;
      if (size > maxBytes) {
        answer.Body?.transformToWebStream().cancel();
        throw new AppError('payload_too_large', `Stored object "${key}" has ${size} bytes, over ${maxBytes}`);
      }
      if (!answer.Body) return new Uint8Array();
      return s3('read', key, () => answer.Body!.transformToByteArray());
    },

    async delete(key) {
      await s3('delete', key, () => client.send(new DeleteObjectCommand({ Bucket, Key: objectKey(key) })));
    },

    async list(prefix) {
      const keys: string[] = [];
      let token: string | undefined;
      do {
        const page = await s3('list', prefix, () =>
          client.send(
            new ListObjectsV2Command({
              Bucket,
              Prefix: `${options.keyPrefix}${prefix}`,
              ...(token ? { ContinuationToken: token } : {}),
            }),
          ),
        );
        for (const object of page.Contents ?? []) {
          if (object.Key) keys.push(object.Key.slice(options.keyPrefix.length));
        }
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
      return keys.sort();
    },

    async checkHealth() {
      await s3('head bucket', Bucket, () => client.send(new HeadBucketCommand({ Bucket })));
    },

    async close() {
      client.destroy();
    },
  };
}
