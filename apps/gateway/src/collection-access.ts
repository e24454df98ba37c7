import { canAccessCollection, type Principal } from '@rag/auth/principal';
import { AppError } from '@rag/contracts/app-error';
import { collectionNameSchema } from '@rag/contracts/identifiers';
import { type Collection, findCollectionByName } from '@rag/db/collection-repository';
import type { Queryable } from '@rag/db/pool';
import type { RequestCache } from './request-cache.js';

/**
 * Finds a collection the caller may use. Unknown, being deleted and out-of-scope collections all read
 * as "not found", so a credential cannot learn which names exist beyond its reach. `includeDeleting` finds
 * one being deleted too (a delete asked again); `cache` serves a collection looked up before (searches).
 */
export async function resolveCollection(
  db: Queryable,
  principal: Principal,
  name: string,
  options: { includeDeleting?: boolean; cache?: RequestCache } = {},
): Promise<Collection> {
  // Made only when thrown: an error's stack trace costs more than the rest of a cached lookup.
  const notFound = () => new AppError('not_found', `Collection "${name}" not found`);
  if (!collectionNameSchema.safeParse(name).success || !canAccessCollection(principal, name))
    throw notFound();
  const load = () => findCollectionByName(db, principal.tenantId, name);
  const collection =
    options.cache && !options.includeDeleting
      ? await options.cache.collection(principal.tenantId, name, load)
      : await load();
  if (!collection || (collection.deleting && !options.includeDeleting)) throw notFound();
  return collection;
}
