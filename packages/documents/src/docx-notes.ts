import { attribute, children, parseXmlPart, type XmlNode } from './ooxml-xml.js';

/** Text of a DOCX that sits outside the main document part, under the label its section gets. */
export interface DocxNoteSection {
  /** The section's heading, and so its heading path: "Footnotes", "Endnotes" or "Comments". */
  label: string;
  /** One entry per paragraph, in the part's order. */
  paragraphs: string[];
}

const noteParts = [
  { label: 'Footnotes', part: 'word/footnotes.xml', root: 'footnotes', item: 'footnote' },
  { label: 'Endnotes', part: 'word/endnotes.xml', root: 'endnotes', item: 'endnote' },
  { label: 'Comments', part: 'word/comments.xml', root: 'comments', item: 'comment' },
] as const;

/**
 * Footnotes, endnotes and comments, read from their own parts: mammoth renders only the notes that the body
 * references and no comments at all. Word's separator notes (the line above the notes) are not text.
 */
export function docxNoteSections(parts: ReadonlyMap<string, Uint8Array>): DocxNoteSection[] {
  const sections: DocxNoteSection[] = [];
  for (const { label, part, root, item } of noteParts) {
    const data = parts.get(part);
    if (!data) continue;
    const paragraphs: string[] = [];
    for (const note of children(children(parseXmlPart(data, part, 'DOCX'), root)[0], item)) {
      const type = attribute(note, 'type');
      if (type && type !== 'normal') continue;
      paragraphs.push(...paragraphsOf(note).filter((text) => text.trim() !== ''));
    }
    if (paragraphs.length > 0) sections.push({ label, paragraphs });
  }
  return sections;
}

/** Every WordprocessingML paragraph (w:p) under the node, tables included, as text. */
function paragraphsOf(node: XmlNode): string[] {
  const paragraphs: string[] = [];
  for (const [key, value] of Object.entries(node)) {
    if (key.startsWith('@_') || !Array.isArray(value)) continue;
    for (const element of value) {
      if (key === 'p') paragraphs.push(paragraphText(element));
      else paragraphs.push(...paragraphsOf(element));
    }
  }
  return paragraphs;
}

/** A paragraph's runs (w:t); deleted text (w:delText) and field codes (w:instrText) are not text. */
function paragraphText(node: XmlNode): string {
  let text = '';
  for (const [key, value] of Object.entries(node)) {
    if (key.startsWith('@_') || !Array.isArray(value)) continue;
    for (const element of value) {
      if (key === 't') text += typeof element['#text'] === 'string' ? element['#text'] : '';
      else if (key === 'tab') text += '\t';
      else if (key === 'br' || key === 'cr') text += '\n';
      else if (key !== 'delText' && key !== 'instrText') text += paragraphText(element);
    }
  }
  return text;
}
