import { AppError } from '@rag/contracts/app-error';
import { DocumentTextBuilder } from './document-text-builder.js';
import { type ExtractedDocument, mediaTypes } from './extracted-document.js';
import { type ExtractionLimits, limitExceeded } from './extraction-limits.js';
import { corePropertiesPart, coreTitle } from './ooxml-core-properties.js';
import {
  attribute,
  child,
  children,
  parseXmlPart,
  relationshipTargets,
  runText,
  type XmlNode,
} from './ooxml-xml.js';
import { readZipEntries } from './zip-archive.js';

const titlePlaceholders = new Set(['title', 'ctrTitle']);
/** The heading of a slide's speaker notes, one level below the slide title: heading path [slide title, "Notes"]. */
const notesLabel = 'Notes';

/**
 * PPTX read from its parts with fast-xml-parser: slides in presentation order, each slide a page. The slide's title
 * placeholder is its heading; every other text frame (shapes, groups, table cells) gives one block per paragraph.
 * The slide's speaker notes follow on the same page under the heading "Notes" (below the slide title, if any).
 */
export function extractPptx(bytes: Uint8Array, limits: ExtractionLimits): ExtractedDocument {
  const wanted = (name: string) =>
    name === 'ppt/presentation.xml' ||
    name === 'ppt/_rels/presentation.xml.rels' ||
    /^ppt\/slides\/slide\d+\.xml$/.test(name) ||
    /^ppt\/slides\/_rels\/slide\d+\.xml\.rels$/.test(name) ||
    /^ppt\/notesSlides\/notesSlide\d+\.xml$/.test(name) ||
    name === corePropertiesPart;
  const parts = readZipEntries(bytes, wanted, limits.maxDecompressedBytes, 'PPTX');
  const part = (name: string) => {
    const data = parts.get(name);
    return data ? parseXmlPart(data, name, 'PPTX') : undefined;
  };
  const presentation = part('ppt/presentation.xml');
  if (!presentation)
    throw new AppError(
      'validation_failed',
      'the PPTX has no ppt/presentation.xml (the presentation part is missing)',
      {
        retryable: false,
      },
    );
  const rels = part('ppt/_rels/presentation.xml.rels');
  const targets = rels ? relationshipTargets(rels, 'ppt') : new Map<string, string>();
  let slidePaths = children(child(presentation, 'presentation', 'sldIdLst'), 'sldId')
    .map((slide) => targets.get(attribute(slide, 'id') ?? ''))
    .filter((path): path is string => path !== undefined && parts.has(path));
  if (slidePaths.length === 0)
    slidePaths = [...parts.keys()]
      .filter((name) => /^ppt\/slides\/slide\d+\.xml$/.test(name))
      .sort((a, b) => slideNumber(a) - slideNumber(b));
  if (slidePaths.length > limits.maxPages)
    throw limitExceeded('maxPages', limits.maxPages, slidePaths.length);

  /** The notes slide that a slide's relationships name, if any. */
  const notesPathOf = (slidePath: string): string | undefined => {
    const rels = part(slidePath.replace(/([^/]+)$/, '_rels/$1.rels'));
    const notes = children(child(rels, 'Relationships'), 'Relationship').find((relationship) =>
      attribute(relationship, 'Type')?.endsWith('/notesSlide'),
    );
    if (!rels || !notes) return undefined;
    return relationshipTargets(rels, slidePath.slice(0, slidePath.lastIndexOf('/'))).get(
      attribute(notes, 'Id') ?? '',
    );
  };
  const builder = new DocumentTextBuilder(limits.maxTextChars);
  let firstTitle: string | null = null;
  slidePaths.forEach((path, index) => {
    const page = index + 1;
    const tree = child(part(path), 'sld', 'cSld', 'spTree');
    const shapes = shapesOf(tree);
    builder.resetHeadings();
    for (const shape of shapes.filter(isTitle)) {
      const title = runText(child(shape, 'txBody')).replace(/\s+/g, ' ');
      firstTitle ??= title.trim() || null;
      builder.heading(1, title, { page });
    }
    for (const shape of shapes.filter((shape) => !isTitle(shape)))
      for (const paragraph of paragraphsOf(shape)) builder.paragraph(paragraph, { page });
    const notesPath = notesPathOf(path);
    const notes = notesPath ? notesOf(part(notesPath)) : [];
    if (notes.length > 0) {
      builder.heading(2, notesLabel, { page });
      for (const paragraph of notes) builder.paragraph(paragraph, { page });
    }
  });
  return builder.build({
    mediaType: mediaTypes.pptx,
    // The core properties' title, else the first slide title.
    title: coreTitle(parts, 'PPTX') ?? firstTitle,
    pageCount: slidePaths.length,
  });
}

/**
 * The speaker notes of a notes slide: its body placeholder. The other placeholders on a notes page hold the slide
 * picture, the slide number, header, footer and date.
 */
function notesOf(notesSlide: XmlNode | undefined): string[] {
  const shapes = shapesOf(child(notesSlide, 'notes', 'cSld', 'spTree'));
  return shapes
    .filter((shape) => attribute(child(shape, 'nvSpPr', 'nvPr', 'ph'), 'type') === 'body')
    .flatMap((shape) => paragraphsOf(shape));
}

/** Shapes with text, including those inside groups and graphic frames (tables), in tree order per kind. */
function shapesOf(tree: XmlNode | undefined): XmlNode[] {
  if (!tree) return [];
  return [
    ...children(tree, 'sp'),
    ...children(tree, 'graphicFrame'),
    ...children(tree, 'grpSp').flatMap((group) => shapesOf(group)),
  ];
}

function isTitle(shape: XmlNode): boolean {
  const placeholder = child(shape, 'nvSpPr', 'nvPr', 'ph');
  return titlePlaceholders.has(attribute(placeholder, 'type') ?? '');
}

/** Every DrawingML paragraph (a:p) under the shape, as text. */
function paragraphsOf(node: XmlNode): string[] {
  const paragraphs: string[] = [];
  for (const [key, value] of Object.entries(node)) {
    if (key.startsWith('@_') || !Array.isArray(value)) continue;
    for (const item of value) {
      if (key === 'p') paragraphs.push(runText(item));
      else paragraphs.push(...paragraphsOf(item));
    }
  }
  return paragraphs;
}

function slideNumber(path: string): number {
  return Number(/slide(\d+)\.xml$/.exec(path)?.[1] ?? 0);
}
