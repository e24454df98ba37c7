import type { Dirent } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { extname, join } from 'node:path';

export interface WalkOptions {
  /** Lower-case extensions with the dot (".md"); every file when empty. */
  extensions?: readonly string[];
}

/**
 * The files under `root`, as paths relative to it with "/" separators on every platform (they become
 * external ids, which must not change with the machine that ingests), sorted so runs are repeatable.
 * Hidden entries (".git", ".DS_Store") are left out, and so are symbolic links, which could loop.
 */
export async function walkFiles(root: string, options: WalkOptions = {}): Promise<string[]> {
  const extensions = options.extensions ?? [];
  const found: string[] = [];

  async function visit(relativeDir: string): Promise<void> {
    const entries: Dirent[] = await readdir(join(root, relativeDir), { withFileTypes: true });
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      if (entry.name.startsWith('.')) continue;
      const relativePath = relativeDir === '' ? entry.name : `${relativeDir}/${entry.name}`;
      if (entry.isDirectory()) await visit(relativePath);
      else if (entry.isFile() && matchesExtension(entry.name, extensions)) found.push(relativePath);
    }
  }

  await visit('');
  return found;
}

/** Parses "--ext md,.TXT" into [".md", ".txt"]. */
export function parseExtensions(list: string): string[] {
  return list
    .split(',')
    .map((ext) => ext.trim().toLowerCase())
    .filter((ext) => ext !== '' && ext !== '.')
    .map((ext) => (ext.startsWith('.') ? ext : `.${ext}`));
}

function matchesExtension(name: string, extensions: readonly string[]): boolean {
  return extensions.length === 0 || extensions.includes(extname(name).toLowerCase());
}
