import { describe, expect, it } from 'vitest';
import { parseRoute, type Route, routeHref } from './hash-route.js';

describe('hash routes', () => {
  it('reads every screen back from the link it makes, names with slashes and CJK included', () => {
    const routes: Route[] = [
      { screen: 'collections' },
      { screen: 'documents', collection: '社内規程' },
      { screen: 'document', collection: 'hand book', id: '3f1c2b9e-8d4a-4c6b-9f1e-2a3b4c5d6e7f' },
      { screen: 'search', collection: 'handbook' },
      { screen: 'search', collection: null },
      { screen: 'keys' },
      { screen: 'webhook' },
    ];
    for (const route of routes) expect(parseRoute(routeHref(route))).toEqual(route);
  });

  it('falls back to the collections for an empty or unknown fragment', () => {
    expect(parseRoute('')).toEqual({ screen: 'collections' });
    expect(parseRoute('#/nowhere')).toEqual({ screen: 'collections' });
  });
});
