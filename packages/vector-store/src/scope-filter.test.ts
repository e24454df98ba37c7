import { isAppError } from '@rag/contracts/app-error';
import { describe, expect, it } from 'vitest';
import { documentFilter, scopeFilter } from './scope-filter.js';

const hostileIds = [
  '',
  'a"b',
  'x" || tenant_id != "',
  "a'b",
  'a\\b',
  'a b',
  'a\nb',
  'tenant_a && 1 == 1',
  'a)or(b',
  'é',
  'a'.repeat(129),
  'a\u0000b',
];

function expectBadRequest(run: () => unknown): void {
  try {
    run();
  } catch (error) {
    expect(isAppError(error) && error.code).toBe('bad_request');
    return;
  }
  throw new Error('expected a bad_request AppError');
}

describe('scopeFilter', () => {
  it('confines a query to one tenant and collection', () => {
    expect(scopeFilter({ tenantId: 'acme', collectionId: 'c_1-2' })).toBe(
      'tenant_id == "acme" && collection_id == "c_1-2"',
    );
  });

  it('accepts uuids and the longest allowed id', () => {
    const id = '3f0e6f3a-7c1b-4a8e-9a53-1d2b3c4d5e6f';
    expect(scopeFilter({ tenantId: id, collectionId: 'a'.repeat(128) })).toContain(`"${id}"`);
  });

  it.each(hostileIds)('rejects the hostile tenant id %j', (tenantId) => {
    expectBadRequest(() => scopeFilter({ tenantId, collectionId: 'docs' }));
  });

  it.each(hostileIds)('rejects the hostile collection id %j', (collectionId) => {
    expectBadRequest(() => scopeFilter({ tenantId: 'acme', collectionId }));
  });

  it('rejects values that are not strings at all', () => {
    const notAString = 42 as unknown as string;
    expectBadRequest(() => scopeFilter({ tenantId: notAString, collectionId: 'docs' }));
  });
});

describe('documentFilter', () => {
  it('narrows the scope to one document', () => {
    expect(documentFilter({ tenantId: 'acme', collectionId: 'docs' }, 'doc-1')).toBe(
      'tenant_id == "acme" && collection_id == "docs" && document_id == "doc-1"',
    );
  });

  it.each(hostileIds)('rejects the hostile document id %j', (documentId) => {
    expectBadRequest(() => documentFilter({ tenantId: 'acme', collectionId: 'docs' }, documentId));
  });
});

describe('aclFilter', () => {
  it('adds nothing for an unrestricted caller and only public documents for one without principals', async () => {
    const { aclFilter } = await import('./scope-filter.js');
    expect(aclFilter(null)).toBe('');
    expect(aclFilter([])).toBe('acl_public == true');
    expect(aclFilter(['user:alice@example.com', 'group:fin/ops'])).toBe(
      '(acl_public == true || array_contains_any(acl, ["user:alice@example.com", "group:fin/ops"]))',
    );
  });

  const hostilePrincipals = [
    'user:auth0|abc',
    'group:R&D team',
    'a"b',
    'a\\b',
    '"]) || true || (["',
    "x' || true || '",
    'a\nb',
    'é',
    'é'.repeat(256),
  ];

  it.each(hostilePrincipals)(
    'turns the principal %j into a literal with nothing to escape',
    async (principal) => {
      const { aclFilter } = await import('./scope-filter.js');
      const filter = aclFilter([principal]);
      const list = /^\(acl_public == true \|\| array_contains_any\(acl, \["([^"]*)"\]\)\)$/.exec(filter);
      expect(list?.[1]).toMatch(/^sha256~[A-Za-z0-9_-]{43}$/);
    },
  );

  it('encodes a principal the same way for rows and filters, and distinct principals apart', async () => {
    const { aclFilter } = await import('./scope-filter.js');
    const { milvusAclValue } = await import('./milvus-acl-value.js');
    expect(aclFilter(['user:auth0|abc'])).toContain(`"${milvusAclValue('user:auth0|abc')}"`);
    expect(milvusAclValue('user:auth0|abc')).not.toBe(milvusAclValue('user:auth0|abd'));
    // A plain principal that happens to look like an encoded one cannot be: `~` is never plain.
    expect(milvusAclValue(milvusAclValue('a b'))).not.toBe(milvusAclValue('a b'));
  });

  it.each(['', 'x'.repeat(257)])('refuses the principal %j', async (principal) => {
    const { aclFilter } = await import('./scope-filter.js');
    expect(() => aclFilter([principal])).toThrow(/ACL principals/);
  });
});
