import { basename, extname } from 'node:path';

const markdownExtensions = new Set(['.md', '.markdown', '.mdx', '.mdown', '.mkd']);
const maxTitleLength = 1000;

/**
 * The title of an ingested file: its first Markdown heading (ATX "# Title" or setext "Title\n====="),
 * else the file name. Headings are looked for in Markdown files only: in a script or a text file, a
 * line starting with "# " is more often a comment than a title.
 */
export function documentTitle(relativePath: string, text: string): string {
  const fileName = basename(relativePath);
  const heading = markdownExtensions.has(extname(fileName).toLowerCase()) ? firstHeading(text) : undefined;
  return (heading ?? fileName).slice(0, maxTitleLength);
}

export function firstHeading(markdown: string): string | undefined {
  const lines = markdown.split(/\r?\n/);
  let fence: string | undefined;
  let start = 0;
  // YAML front matter is metadata, not the document's first lines.
  if (lines[0]?.trim() === '---') {
    const end = lines.findIndex((line, i) => i > 0 && /^(---|\.\.\.)\s*$/.test(line));
    if (end > 0) start = end + 1;
  }
  for (let i = start; i < lines.length; i++) {
    const line = lines[i]!;
    const fenceMatch = /^ {0,3}(`{3,}|~{3,})/.exec(line);
    if (fenceMatch) {
      const marker = fenceMatch[1]!;
      if (fence === undefined) fence = marker[0]!.repeat(marker.length);
      else if (marker.startsWith(fence)) fence = undefined;
      continue;
    }
    if (fence !== undefined) continue;
    const atx = /^ {0,3}#{1,6}[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$/.exec(line);
    if (atx?.[1]) return atx[1].trim();
    const next = lines[i + 1];
    if (next !== undefined && line.trim() !== '' && /^ {0,3}(=+|-+)[ \t]*$/.test(next)) {
      // "---" under a paragraph is a setext heading only when the paragraph is a single line.
      const previous = lines[i - 1];
      if (previous === undefined || previous.trim() === '' || i === start) return line.trim();
    }
  }
  return undefined;
}
