import { strToU8, type Zippable, zipSync } from 'fflate';

/**
 * Small documents built in the tests, for what the shared samples do not cover (several pages, spreadsheets,
 * slides, damaged archives). Each is a real file of its format, written from its specification's minimum.
 */

/**
 * A Japanese font as older PDF writers leave it: not embedded, text in UTF-16 code units through the predefined
 * CMap UniJIS-UCS2-H, so a reader needs Adobe's CMap files to get the characters back.
 */
const japaneseFont =
  '<< /Type /Font /Subtype /Type0 /BaseFont /HeiseiMin-W3 /Encoding /UniJIS-UCS2-H /DescendantFonts [<< /Type /Font ' +
  '/Subtype /CIDFontType0 /BaseFont /HeiseiMin-W3 /CIDSystemInfo << /Registry (Adobe) /Ordering (Japan1) /Supplement 2 >> ' +
  '/FontDescriptor << /Type /FontDescriptor /FontName /HeiseiMin-W3 /Flags 6 /FontBBox [0 -141 1000 859] /ItalicAngle 0 ' +
  '/Ascent 859 /Descent -141 /CapHeight 769 /StemV 80 >> /DW 1000 >>] >>';

/** A PDF with one page per entry, each page's lines drawn in Helvetica (ASCII), or in a CJK font for `japanese`. */
export function buildPdf(
  pages: string[][],
  options: { japanese?: boolean; infoTitle?: string; xmpTitle?: string } = {},
): Uint8Array {
  const objects: string[] = [];
  const pageIds = pages.map((_, index) => 4 + index * 2);
  objects[1] = '<< /Type /Catalog /Pages 2 0 R >>';
  objects[2] = `<< /Type /Pages /Kids [${pageIds.map((id) => `${id} 0 R`).join(' ')}] /Count ${pages.length} >>`;
  objects[3] = options.japanese ? japaneseFont : '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>';
  const showText = (line: string) =>
    options.japanese
      ? `<${[...line].map((char) => (char.charCodeAt(0) ?? 0).toString(16).padStart(4, '0')).join('')}> Tj T*`
      : `(${line.replace(/[()\\]/g, '\\$&')}) Tj T*`;
  pages.forEach((lines, index) => {
    const pageId = pageIds[index] as number;
    const escaped = lines.map(showText).join(' ');
    const content = `BT /F1 12 Tf 14 TL 72 720 Td ${escaped} ET`;
    objects[pageId] =
      `<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >> /Contents ${pageId + 1} 0 R >>`;
    objects[pageId + 1] = `<< /Length ${content.length} >>\nstream\n${content}\nendstream`;
  });
  let info = '';
  if (options.infoTitle !== undefined) {
    objects.push(`<< /Title (${options.infoTitle.replace(/[()\\]/g, '\\$&')}) /Producer (fixture) >>`);
    info = ` /Info ${objects.length - 1} 0 R`;
  }
  if (options.xmpTitle !== undefined) {
    // XMP as Acrobat writes it: dc:title is a language alternative.
    const xmp = `<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title><rdf:Alt><rdf:li xml:lang="x-default">${options.xmpTitle}</rdf:li></rdf:Alt></dc:title></rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end="w"?>`;
    objects.push(`<< /Type /Metadata /Subtype /XML /Length ${xmp.length} >>\nstream\n${xmp}\nendstream`);
    objects[1] = `<< /Type /Catalog /Pages 2 0 R /Metadata ${objects.length - 1} 0 R >>`;
  }
  let out = '%PDF-1.4\n';
  const offsets: number[] = [];
  for (let id = 1; id < objects.length; id++) {
    offsets[id] = out.length;
    out += `${id} 0 obj\n${objects[id]}\nendobj\n`;
  }
  const xref = out.length;
  out += `xref\n0 ${objects.length}\n0000000000 65535 f \n`;
  for (let id = 1; id < objects.length; id++) out += `${String(offsets[id]).padStart(10, '0')} 00000 n \n`;
  out += `trailer\n<< /Size ${objects.length} /Root 1 0 R${info} >>\nstartxref\n${xref}\n%%EOF\n`;
  return strToU8(out);
}

const xmlHeader = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n';

function zipParts(parts: Record<string, string | Uint8Array>): Uint8Array {
  const files: Zippable = {};
  for (const [name, content] of Object.entries(parts))
    files[name] = typeof content === 'string' ? strToU8(content) : content;
  return zipSync(files);
}

export interface SheetFixture {
  name: string;
  /** Hidden in Excel's sheet tabs (state="hidden"); its cells are still text of the workbook. */
  hidden?: boolean;
  rows: (string | number | boolean | { inline: string } | { phonetic: [string, string] } | null)[][];
}

/** An XLSX workbook: strings go to the shared-string table, { inline } cells are inline strings. */
export function buildXlsx(sheets: SheetFixture[], options: { title?: string } = {}): Uint8Array {
  const shared: string[] = [];
  const sharedIndex = (xml: string) => {
    const existing = shared.indexOf(xml);
    if (existing >= 0) return existing;
    shared.push(xml);
    return shared.length - 1;
  };
  const column = (index: number) => String.fromCharCode(65 + index);
  const parts: Record<string, string> = {
    '[Content_Types].xml': `${xmlHeader}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/></Types>`,
    'xl/workbook.xml': `${xmlHeader}<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets>${sheets
      .map(
        (sheet, index) =>
          `<sheet name="${escapeXml(sheet.name)}" sheetId="${index + 1}"${sheet.hidden ? ' state="hidden"' : ''} r:id="rId${index + 1}"/>`,
      )
      .join('')}</sheets></workbook>`,
    'xl/_rels/workbook.xml.rels': `${xmlHeader}<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">${sheets
      .map(
        (_, index) =>
          `<Relationship Id="rId${index + 1}" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet${index + 1}.xml"/>`,
      )
      .join('')}</Relationships>`,
  };
  sheets.forEach((sheet, sheetIndex) => {
    const rows = sheet.rows
      .map((row, rowIndex) => {
        const cells = row
          .map((value, columnIndex) => {
            const ref = `${column(columnIndex)}${rowIndex + 1}`;
            if (value === null) return '';
            if (typeof value === 'number') return `<c r="${ref}"><v>${value}</v></c>`;
            if (typeof value === 'boolean') return `<c r="${ref}" t="b"><v>${value ? 1 : 0}</v></c>`;
            if (typeof value === 'string')
              return `<c r="${ref}" t="s"><v>${sharedIndex(`<t xml:space="preserve">${escapeXml(value)}</t>`)}</v></c>`;
            if ('inline' in value)
              return `<c r="${ref}" t="inlineStr"><is><t>${escapeXml(value.inline)}</t></is></c>`;
            const [text, reading] = value.phonetic;
            return `<c r="${ref}" t="s"><v>${sharedIndex(`<t>${escapeXml(text)}</t><rPh sb="0" eb="${text.length}"><t>${escapeXml(reading)}</t></rPh>`)}</v></c>`;
          })
          .join('');
        return `<row r="${rowIndex + 1}">${cells}</row>`;
      })
      .join('');
    parts[`xl/worksheets/sheet${sheetIndex + 1}.xml`] =
      `${xmlHeader}<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>${rows}</sheetData></worksheet>`;
  });
  parts['xl/sharedStrings.xml'] =
    `${xmlHeader}<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="${shared.length}" uniqueCount="${shared.length}">${shared
      .map((item) => `<si>${item}</si>`)
      .join('')}</sst>`;
  if (options.title !== undefined) parts['docProps/core.xml'] = corePropertiesXml(options.title);
  return zipParts(parts);
}

export interface SlideFixture {
  title?: string;
  /** Body paragraphs, one text box. */
  body: string[];
  /** A table on the slide, row by row. */
  table?: string[][];
  /** Text in a shape inside a group. */
  grouped?: string;
  /** Speaker notes, one paragraph each, on the slide's notes page. */
  notes?: string[];
}

const drawingNs =
  'xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships" xmlns:p="http://schemas.openxmlformats.org/presentationml/2006/main"';

/** A PPTX whose slide files are numbered in reverse, so only presentation.xml gives the right order. */
export function buildPptx(slides: SlideFixture[], options: { title?: string } = {}): Uint8Array {
  const paragraphs = (texts: string[]) =>
    texts.map((text) => `<a:p><a:r><a:rPr lang="en-US"/><a:t>${escapeXml(text)}</a:t></a:r></a:p>`).join('');
  const shape = (texts: string[], placeholder?: string) =>
    `<p:sp><p:nvSpPr><p:cNvPr id="2" name="Shape"/><p:cNvSpPr/><p:nvPr>${placeholder ? `<p:ph type="${placeholder}"/>` : ''}</p:nvPr></p:nvSpPr><p:spPr/><p:txBody><a:bodyPr/>${paragraphs(texts)}</p:txBody></p:sp>`;
  const fileOf = (index: number) => `slide${slides.length - index}.xml`;
  const parts: Record<string, string> = {
    '[Content_Types].xml': `${xmlHeader}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="xml" ContentType="application/xml"/></Types>`,
    'ppt/presentation.xml': `${xmlHeader}<p:presentation ${drawingNs}><p:sldIdLst>${slides
      .map((_, index) => `<p:sldId id="${256 + index}" r:id="rId${index + 10}"/>`)
      .join('')}</p:sldIdLst></p:presentation>`,
    'ppt/_rels/presentation.xml.rels': `${xmlHeader}<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">${slides
      .map(
        (_, index) =>
          `<Relationship Id="rId${index + 10}" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/slide" Target="slides/${fileOf(index)}"/>`,
      )
      .join('')}</Relationships>`,
  };
  slides.forEach((slide, index) => {
    const table = slide.table
      ? `<p:graphicFrame><a:graphic><a:graphicData><a:tbl>${slide.table
          .map(
            (row) =>
              `<a:tr>${row.map((cell) => `<a:tc><a:txBody>${paragraphs([cell])}</a:txBody></a:tc>`).join('')}</a:tr>`,
          )
          .join('')}</a:tbl></a:graphicData></a:graphic></p:graphicFrame>`
      : '';
    const group = slide.grouped ? `<p:grpSp>${shape([slide.grouped])}</p:grpSp>` : '';
    parts[`ppt/slides/${fileOf(index)}`] =
      `${xmlHeader}<p:sld ${drawingNs}><p:cSld><p:spTree>${slide.title ? shape([slide.title], 'title') : ''}${shape(slide.body)}${table}${group}</p:spTree></p:cSld></p:sld>`;
    if (slide.notes) {
      // A notes page as PowerPoint writes it: the slide picture, the notes body, the slide number.
      const notesFile = `notesSlide${index + 1}.xml`;
      parts[`ppt/slides/_rels/${fileOf(index)}.rels`] =
        `${xmlHeader}<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/notesSlide" Target="../notesSlides/${notesFile}"/></Relationships>`;
      parts[`ppt/notesSlides/${notesFile}`] =
        `${xmlHeader}<p:notes ${drawingNs}><p:cSld><p:spTree>${shape([], 'sldImg')}${shape(slide.notes, 'body')}${shape([String(index + 1)], 'sldNum')}</p:spTree></p:cSld></p:notes>`;
    }
  });
  if (options.title !== undefined) parts['docProps/core.xml'] = corePropertiesXml(options.title);
  return zipParts(parts);
}

export interface DocxParagraph {
  text: string;
  /** Word's built-in heading style of this level. */
  heading?: 1 | 2;
  footnote?: string;
  endnote?: string;
  /** A comment anchored on the paragraph's text. */
  comment?: string;
}

const wordNs =
  'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"';
const officeRel = 'http://schemas.openxmlformats.org/officeDocument/2006/relationships';

/** A DOCX as Word writes it: styles, and footnotes, endnotes and comments in their own parts with references. */
export function buildDocx(paragraphs: DocxParagraph[], options: { title?: string } = {}): Uint8Array {
  const run = (text: string) => `<w:r><w:t xml:space="preserve">${escapeXml(text)}</w:t></w:r>`;
  const notes: Record<'footnote' | 'endnote' | 'comment', string[]> = {
    footnote: [],
    endnote: [],
    comment: [],
  };
  const body = paragraphs
    .map((paragraph) => {
      const style = paragraph.heading ? `<w:pPr><w:pStyle w:val="Heading${paragraph.heading}"/></w:pPr>` : '';
      let xml = run(paragraph.text);
      if (paragraph.comment !== undefined) {
        const id = notes.comment.push(paragraph.comment) - 1;
        xml = `<w:commentRangeStart w:id="${id}"/>${xml}<w:commentRangeEnd w:id="${id}"/><w:r><w:commentReference w:id="${id}"/></w:r>`;
      }
      if (paragraph.footnote !== undefined)
        xml += `<w:r><w:footnoteReference w:id="${notes.footnote.push(paragraph.footnote)}"/></w:r>`;
      if (paragraph.endnote !== undefined)
        xml += `<w:r><w:endnoteReference w:id="${notes.endnote.push(paragraph.endnote)}"/></w:r>`;
      return `<w:p>${style}${xml}</w:p>`;
    })
    .join('');
  // Word's separator notes (ids -1 and 0) hold no text of the author's.
  const separators = (kind: string) =>
    `<w:${kind} w:type="separator" w:id="-1"><w:p><w:r><w:separator/></w:r></w:p></w:${kind}><w:${kind} w:type="continuationSeparator" w:id="0"><w:p><w:r><w:continuationSeparator/></w:r></w:p></w:${kind}>`;
  const noteParts = (kind: 'footnote' | 'endnote') =>
    `${xmlHeader}<w:${kind}s ${wordNs}>${separators(kind)}${notes[kind]
      .map((text, index) => `<w:${kind} w:id="${index + 1}"><w:p>${run(text)}</w:p></w:${kind}>`)
      .join('')}</w:${kind}s>`;
  const parts: Record<string, string> = {
    '[Content_Types].xml': `${xmlHeader}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>`,
    '_rels/.rels': `${xmlHeader}<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="${officeRel}/officeDocument" Target="word/document.xml"/><Relationship Id="rId2" Type="http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties" Target="docProps/core.xml"/></Relationships>`,
    'word/_rels/document.xml.rels': `${xmlHeader}<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="${officeRel}/styles" Target="styles.xml"/><Relationship Id="rId2" Type="${officeRel}/footnotes" Target="footnotes.xml"/><Relationship Id="rId3" Type="${officeRel}/endnotes" Target="endnotes.xml"/><Relationship Id="rId4" Type="${officeRel}/comments" Target="comments.xml"/></Relationships>`,
    'word/styles.xml': `${xmlHeader}<w:styles ${wordNs}><w:style w:type="paragraph" w:styleId="Heading1"><w:name w:val="heading 1"/></w:style><w:style w:type="paragraph" w:styleId="Heading2"><w:name w:val="heading 2"/></w:style></w:styles>`,
    'word/document.xml': `${xmlHeader}<w:document ${wordNs}><w:body>${body}</w:body></w:document>`,
    'word/footnotes.xml': noteParts('footnote'),
    'word/endnotes.xml': noteParts('endnote'),
    'word/comments.xml': `${xmlHeader}<w:comments ${wordNs}>${notes.comment
      .map(
        (text, id) =>
          `<w:comment w:id="${id}" w:author="Reviewer" w:initials="R"><w:p>${run(text)}</w:p></w:comment>`,
      )
      .join('')}</w:comments>`,
  };
  if (options.title !== undefined) parts['docProps/core.xml'] = corePropertiesXml(options.title);
  return zipParts(parts);
}

/** docProps/core.xml with a title, as Office writes it. */
export function corePropertiesXml(title: string): string {
  return `${xmlHeader}<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/"><dc:title>${escapeXml(title)}</dc:title><dc:creator>Author</dc:creator></cp:coreProperties>`;
}

/** A DOCX-shaped archive with the given parts (for damaged ones; real DOCX files come from the shared samples). */
export function buildZip(parts: Record<string, string | Uint8Array>): Uint8Array {
  return zipParts(parts);
}

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
