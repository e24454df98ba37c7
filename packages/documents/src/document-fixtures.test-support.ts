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
export function buildPdf(pages: string[][], options: { japanese?: boolean } = {}): Uint8Array {
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
  let out = '%PDF-1.4\n';
  const offsets: number[] = [];
  for (let id = 1; id < objects.length; id++) {
    offsets[id] = out.length;
    out += `${id} 0 obj\n${objects[id]}\nendobj\n`;
  }
  const xref = out.length;
  out += `xref\n0 ${objects.length}\n0000000000 65535 f \n`;
  for (let id = 1; id < objects.length; id++) out += `${String(offsets[id]).padStart(10, '0')} 00000 n \n`;
  out += `trailer\n<< /Size ${objects.length} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
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
  rows: (string | number | boolean | { inline: string } | { phonetic: [string, string] } | null)[][];
}

/** An XLSX workbook: strings go to the shared-string table, { inline } cells are inline strings. */
export function buildXlsx(sheets: SheetFixture[]): Uint8Array {
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
          `<sheet name="${escapeXml(sheet.name)}" sheetId="${index + 1}" r:id="rId${index + 1}"/>`,
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
}

const drawingNs =
  'xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships" xmlns:p="http://schemas.openxmlformats.org/presentationml/2006/main"';

/** A PPTX whose slide files are numbered in reverse, so only presentation.xml gives the right order. */
export function buildPptx(slides: SlideFixture[]): Uint8Array {
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
  });
  return zipParts(parts);
}

/** A DOCX-shaped archive with the given parts (for damaged ones; real DOCX files come from the shared samples). */
export function buildZip(parts: Record<string, string | Uint8Array>): Uint8Array {
  return zipParts(parts);
}

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
