// Folders (object storage, Milvus Lite's data) kept in a backup as tar archives: one file to checksum,
// and file modes and names exactly as they were.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { OpsError } from './stack-data-dir.mjs';

/** Writes the contents of `dir` (empty when it does not exist) to the tar file `file`. */
export async function archiveFolder(dir, file) {
  if (!existsSync(dir)) await mkdir(dir, { recursive: true });
  await tar(['--create', `--file=${file}`, `--directory=${dir}`, '.']);
}

/**
 * Replaces `dir` by the archive's contents: unpacked beside it first, then swapped in, so a failed unpack
 * leaves nothing half written where the stack looks.
 */
export async function replaceFolderFromArchive(file, dir) {
  const unpacking = `${dir}.restoring`;
  await rm(unpacking, { recursive: true, force: true });
  await mkdir(unpacking, { recursive: true });
  try {
    await tar(['--extract', `--file=${file}`, `--directory=${unpacking}`]);
  } catch (error) {
    await rm(unpacking, { recursive: true, force: true });
    throw error;
  }
  await rm(dir, { recursive: true, force: true });
  await rename(unpacking, dir);
}

function tar(args) {
  return new Promise((done, fail) => {
    const child = spawn('tar', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk) => {
      stderr += chunk.toString('utf8');
    });
    child.once('error', (error) => fail(new OpsError(`tar could not run: ${error.message}`)));
    child.once('close', (code) =>
      code === 0 ? done() : fail(new OpsError(`tar ${args[0]} failed: ${stderr.trim() || `exit ${code}`}`)),
    );
  });
}
