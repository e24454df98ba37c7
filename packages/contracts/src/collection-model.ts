import { AppError } from './app-error.js';
import type { ModelInfo } from './embedding-api.js';

/** The embedding model a collection was created on: its name and its manifest's sha256. */
export interface RecordedModel {
  name: string;
  manifestHash: string;
}

/**
 * Refuses to embed into or search a collection with a model other than the one it was created on: vectors of
 * two models in one index do not compare, and the result would be wrong without any error. This happens when
 * the served model changes under a collection (another EMBEDDING_SERVICE_URL, or a changed manifest under the
 * same name); the collection must then be moved to the new model, or the old model served again.
 */
export function checkCollectionModel(
  recorded: RecordedModel,
  served: ModelInfo,
  /** Its name, where the caller knows it. */
  collection?: string,
): void {
  if (recorded.name === served.name && recorded.manifestHash === served.manifestHash) return;
  const what =
    recorded.name === served.name
      ? `the manifest of ${served.name} changed since (sha256 ${short(recorded.manifestHash)} then, ${short(served.manifestHash)} now)`
      : `the embedding service serves ${served.name} now`;
  throw new AppError(
    'conflict',
    `${collection === undefined ? 'The collection' : `Collection "${collection}"`} was created on the model ${recorded.name}, and ${what}; serve ${recorded.name} again or move the collection to the new model`,
    { context: { recorded: recorded.name, served: served.name } },
  );
}

function short(hash: string | undefined): string {
  return hash === undefined ? 'unknown' : hash.slice(0, 12);
}
