/** A contiguous part of the document text that shares one page and one heading path. */
export interface DocumentSection {
  /** [start, end) in UTF-16 code units of `ExtractedDocument.text`. */
  start: number;
  end: number;
  /** 1-based page (PDF page, PPTX slide); null where the format has no pages. */
  page: number | null;
  /** Headings from the outermost to the innermost that this section sits under; the sheet name for XLSX. */
  headingPath: string[];
}

export interface ExtractedDocument {
  /** The media type detected from the content (it wins over the file name and the declared type). */
  mediaType: string;
  /** The document's text, NFKC-normalized; blocks are separated by blank lines. */
  text: string;
  title: string | null;
  pageCount: number | null;
  /** In text order, not overlapping; the separators between blocks belong to no section. */
  sections: DocumentSection[];
}

export interface DocumentHints {
  filename?: string;
  mediaType?: string;
}

export const mediaTypes = {
  pdf: 'application/pdf',
  docx: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  pptx: 'application/vnd.openxmlformats-officedocument.presentationml.presentation',
  html: 'text/html',
  markdown: 'text/markdown',
  csv: 'text/csv',
  plain: 'text/plain',
} as const;

export type SupportedMediaType = (typeof mediaTypes)[keyof typeof mediaTypes];
