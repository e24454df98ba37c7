/**
 * The console's screens, addressed by the URL fragment: a static host (the gateway) serves one index.html,
 * and nothing secret ever appears in a URL (the credential stays in session storage).
 */
export type Route =
  | { screen: 'collections' }
  | { screen: 'documents'; collection: string }
  | { screen: 'document'; collection: string; id: string }
  | { screen: 'search'; collection: string | null }
  | { screen: 'keys' }
  | { screen: 'webhook' };

export function parseRoute(hash: string): Route {
  const [path = '', query = ''] = hash.replace(/^#/, '').split('?');
  const parts = path
    .split('/')
    .filter(Boolean)
    .map((part) => decodeURIComponent(part));
  const params = new URLSearchParams(query);
  if (parts[0] === 'collections' && parts[1] !== undefined) {
    if (parts[2] === 'documents' && parts[3] !== undefined) {
      return { screen: 'document', collection: parts[1], id: parts[3] };
    }
    return { screen: 'documents', collection: parts[1] };
  }
  if (parts[0] === 'search') return { screen: 'search', collection: params.get('collection') };
  if (parts[0] === 'keys') return { screen: 'keys' };
  if (parts[0] === 'webhook') return { screen: 'webhook' };
  return { screen: 'collections' };
}

export function routeHref(route: Route): string {
  const segment = encodeURIComponent;
  switch (route.screen) {
    case 'collections':
      return '#/collections';
    case 'documents':
      return `#/collections/${segment(route.collection)}`;
    case 'document':
      return `#/collections/${segment(route.collection)}/documents/${segment(route.id)}`;
    case 'search':
      return route.collection === null ? '#/search' : `#/search?collection=${segment(route.collection)}`;
    case 'keys':
      return '#/keys';
    case 'webhook':
      return '#/webhook';
  }
}
