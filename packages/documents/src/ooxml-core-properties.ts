import { cleanBlock } from './document-text-builder.js';
import { child, parseXmlPart, textOf } from './ooxml-xml.js';

/** Where Office keeps a package's core properties (File > Info in Word, PowerPoint and Excel). */
export const corePropertiesPart = 'docProps/core.xml';

/** The title set in the core properties (dc:title), or null when there is none or it is blank. */
export function coreTitle(parts: ReadonlyMap<string, Uint8Array>, what: string): string | null {
  const core = parts.get(corePropertiesPart);
  if (!core) return null;
  const title = child(parseXmlPart(core, corePropertiesPart, what), 'coreProperties', 'title');
  return cleanBlock(textOf(title), false) || null;
}
