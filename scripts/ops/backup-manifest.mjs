// A backup is a folder: the PostgreSQL dump, archives of object storage (and of Milvus Lite when it was
// copied), the stack's own small files, and manifest.json, written last, which describes them all with
// their sizes and sha256. A folder whose manifest is missing, or whose files do not match it, is refused.
import { existsSync } from 'node:fs';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileSha256 } from './file-digest.mjs';
import { OpsError } from './stack-data-dir.mjs';

export const manifestFileName = 'manifest.json';
const format = 'rag-system-backup';
const formatVersion = 1;

/**
 * Adds the size and checksum of each of `files` (names inside `dir`) to the manifest and writes it.
 * @param {string} dir
 * @param {Record<string, unknown>} manifest
 * @param {string[]} files
 */
export async function writeManifest(dir, manifest, files) {
  const described = {};
  for (const name of files) {
    const path = join(dir, name);
    described[name] = { bytes: (await stat(path)).size, sha256: await fileSha256(path) };
  }
  const complete = { format, formatVersion, ...manifest, files: described };
  await writeFile(join(dir, manifestFileName), `${JSON.stringify(complete, null, 2)}\n`, { mode: 0o600 });
  return complete;
}

/**
 * Reads a backup's manifest and checks every file it names against its size and checksum; throws with every
 * problem found, saying whether the backup is incomplete (files missing) or corrupt (files changed).
 * @param {string} backupDir
 */
export async function readVerifiedBackup(backupDir) {
  const dir = resolve(backupDir);
  if (!existsSync(dir)) throw new OpsError(`backup ${dir} does not exist`);
  const manifestPath = join(dir, manifestFileName);
  if (!existsSync(manifestPath)) {
    throw new OpsError(
      `backup ${dir} is incomplete: it has no ${manifestFileName} (a backup writes it last, so the backup was cut short${
        dir.endsWith('.partial') ? '' : ' or is not a backup'
      })`,
    );
  }
  let manifest;
  try {
    manifest = JSON.parse(await readFile(manifestPath, 'utf8'));
  } catch (error) {
    throw new OpsError(`backup ${dir} is corrupt: ${manifestFileName} is not valid JSON (${error.message})`);
  }
  if (manifest?.format !== format || manifest.formatVersion !== formatVersion || !manifest.files) {
    throw new OpsError(
      `backup ${dir}: ${manifestFileName} is not a ${format} manifest of version ${formatVersion}`,
    );
  }
  const missing = [];
  const changed = [];
  for (const [name, expected] of Object.entries(manifest.files)) {
    const path = join(dir, name);
    if (!existsSync(path)) {
      missing.push(name);
      continue;
    }
    const bytes = (await stat(path)).size;
    if (bytes !== expected.bytes) {
      changed.push(`${name} has ${bytes} bytes, the manifest says ${expected.bytes}`);
    } else if ((await fileSha256(path)) !== expected.sha256) {
      changed.push(`${name} does not match its sha256 in the manifest`);
    }
  }
  const problems = [];
  if (missing.length > 0) problems.push(`backup ${dir} is incomplete: ${missing.join(', ')} missing`);
  if (changed.length > 0) problems.push(`backup ${dir} is corrupt: ${changed.join('; ')}`);
  if (problems.length > 0) throw new OpsError(problems.join('\n'));
  return { dir, manifest };
}
