import { describe, expect, it } from 'vitest';
import { documentTitle, firstHeading } from './document-title.js';

describe('documentTitle', () => {
  it('takes the first Markdown heading of a Markdown file', () => {
    expect(documentTitle('guides/travel.md', 'Intro line\n\n## Travel policy ##\n\n# Later')).toBe(
      'Travel policy',
    );
  });

  it('falls back to the file name', () => {
    expect(documentTitle('guides/travel.md', 'No heading here.')).toBe('travel.md');
    // In a text file or a script, "# " starts a comment more often than a title.
    expect(documentTitle('notes/todo.txt', '# buy milk')).toBe('todo.txt');
    expect(documentTitle('deploy.sh', '#!/bin/sh\n# deploy')).toBe('deploy.sh');
  });

  it('keeps titles within the API limit', () => {
    expect(documentTitle('long.md', `# ${'x'.repeat(2000)}`)).toHaveLength(1000);
  });
});

describe('firstHeading', () => {
  it('reads setext headings', () => {
    expect(firstHeading('Release notes\n=============\n\ntext')).toBe('Release notes');
    expect(firstHeading('\nInstall\n-------\n')).toBe('Install');
  });

  it('ignores headings inside fenced code and YAML front matter', () => {
    expect(firstHeading('```sh\n# not a title\n```\n# Title')).toBe('Title');
    expect(firstHeading('~~~~\n# no\n~~~\n# still code\n~~~~\n# Yes')).toBe('Yes');
    expect(firstHeading('---\ntitle: Front\n---\n# Body title')).toBe('Body title');
  });

  it('does not take a hashtag, an empty heading or a paragraph above a rule for a heading', () => {
    expect(firstHeading('#hashtag\n#\nOne line\nanother line\n---\n')).toBeUndefined();
  });
});
