import { type AnswerInfo, createRagClient, type RagClient } from '@rag/client/rag-client';

/**
 * The credential lives in session storage only: gone when the tab closes, never in a URL, a cookie or a
 * log line. The console talks to the gateway that served it (same origin), so no CORS is opened.
 */
const storageKey = 'rag-console.credential';

export function storedCredential(storage: Storage = sessionStorage): string | null {
  return storage.getItem(storageKey);
}

export function storeCredential(token: string, storage: Storage = sessionStorage): void {
  storage.setItem(storageKey, token);
}

export function forgetCredential(storage: Storage = sessionStorage): void {
  storage.removeItem(storageKey);
}

/** The gateway's address: the origin the console was served from. */
export function gatewayUrl(): string {
  return window.location.origin;
}

/**
 * A client with the credential, asked before every request (a refreshed access token replaces it in place,
 * without a new client); `onAnswer` sees each answer's headers (Server-Timing, request id).
 */
export function clientFor(credential: () => string, onAnswer?: (answer: AnswerInfo) => void): RagClient {
  return createRagClient({
    baseUrl: gatewayUrl(),
    apiKey: credential,
    // One more try after a 429 or 503, then the problem is shown: a screen that waits silently helps nobody.
    retry: { attempts: 2 },
    ...(onAnswer ? { onAnswer } : {}),
  });
}
