import { AppError } from '@rag/contracts/app-error';
import { XMLParser } from 'fast-xml-parser';

/** A parsed XML element: child elements by local name (always arrays, in document order per name), attributes as `@_name`. */
export type XmlNode = { [key: string]: XmlNode[] | string | undefined; '#text'?: string };

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  removeNSPrefix: true,
  parseTagValue: false,
  parseAttributeValue: false,
  // xml:space="preserve" runs keep their spaces.
  trimValues: false,
  // Leaf elements become { '#text': ... } like any other, so every child is an object.
  alwaysCreateTextNode: true,
  isArray: (_name, _path, _isLeaf, isAttribute) => !isAttribute,
});

/**
 * Refuses an XML part that declares a DTD or an entity. OOXML parts never carry one, so a part that does is
 * refused rather than given to entity expansion (the "billion laughs" attack). The whole part is searched: XML
 * allows any length of comments and processing instructions before the DOCTYPE.
 */
export function refuseDtd(bytes: Uint8Array, partName: string, what: string): void {
  refuseDtdIn(decodePart(bytes), partName, what);
}

function refuseDtdIn(xml: string, partName: string, what: string): void {
  if (/<!(?:DOCTYPE|ENTITY)/i.test(xml))
    throw new AppError(
      'validation_failed',
      `the ${what} part ${partName} declares a DTD, which OOXML never does`,
      { retryable: false },
    );
}

/** Parses one XML part of an OOXML package (after refuseDtd). */
export function parseXmlPart(bytes: Uint8Array, partName: string, what: string): XmlNode {
  const xml = decodePart(bytes);
  refuseDtdIn(xml, partName, what);
  try {
    return parser.parse(xml) as XmlNode;
  } catch (error) {
    throw new AppError('validation_failed', `the ${what} part ${partName} is not well-formed XML`, {
      retryable: false,
      cause: error,
    });
  }
}

/** XML parts are UTF-8, or UTF-16 with a byte-order mark. */
function decodePart(bytes: Uint8Array): string {
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return new TextDecoder('utf-16le').decode(bytes);
  if (bytes[0] === 0xfe && bytes[1] === 0xff) return new TextDecoder('utf-16be').decode(bytes);
  return new TextDecoder('utf-8').decode(bytes);
}

export function children(node: XmlNode | undefined, name: string): XmlNode[] {
  const value = node?.[name];
  return Array.isArray(value) ? value : [];
}

export function child(node: XmlNode | undefined, ...path: string[]): XmlNode | undefined {
  let current = node;
  for (const name of path) current = children(current, name)[0];
  return current;
}

export function attribute(node: XmlNode | undefined, name: string): string | undefined {
  const value = node?.[`@_${name}`];
  return typeof value === 'string' ? value : undefined;
}

/** The text of every `t` element under the node (DrawingML and SpreadsheetML runs), skipping the named elements. */
export function runText(node: XmlNode | undefined, skip: ReadonlySet<string> = new Set()): string {
  if (!node) return '';
  let text = '';
  for (const [key, value] of Object.entries(node)) {
    if (key.startsWith('@_') || !Array.isArray(value) || skip.has(key)) continue;
    for (const item of value) {
      if (key === 't') text += textOf(item);
      else if (key === 'br') text += '\n';
      else text += runText(item, skip);
    }
  }
  return text;
}

/** The element's own text content. */
export function textOf(node: XmlNode | undefined): string {
  const text = node?.['#text'];
  return typeof text === 'string' ? text : '';
}

/** Target paths of a part's relationships by id, resolved against the folder of the part that owns them. */
export function relationshipTargets(rels: XmlNode, baseFolder: string): Map<string, string> {
  const targets = new Map<string, string>();
  for (const relationship of children(child(rels, 'Relationships'), 'Relationship')) {
    const id = attribute(relationship, 'Id');
    const target = attribute(relationship, 'Target');
    if (!id || !target || attribute(relationship, 'TargetMode') === 'External') continue;
    targets.set(id, resolvePartPath(baseFolder, target));
  }
  return targets;
}

function resolvePartPath(baseFolder: string, target: string): string {
  if (target.startsWith('/')) return target.slice(1);
  const parts = baseFolder.split('/').filter(Boolean);
  for (const segment of target.split('/')) {
    if (segment === '..') parts.pop();
    else if (segment !== '.' && segment !== '') parts.push(segment);
  }
  return parts.join('/');
}
