// sha256 of files read as streams, so a dump of many gigabytes is never held in memory.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';

/** Feeds a file's bytes into a running digest. */
export function hashInto(digest, file) {
  return new Promise((done, fail) => {
    createReadStream(file)
      .on('data', (chunk) => digest.update(chunk))
      .once('end', done)
      .once('error', fail);
  });
}

/** sha256 of one file, hex. */
export async function fileSha256(file) {
  const digest = createHash('sha256');
  await hashInto(digest, file);
  return digest.digest('hex');
}
