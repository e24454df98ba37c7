import { isRagApiError } from '@rag/client/rag-api-error';

/** A failed call as the user should read it: status, the server's own words, and the request id to quote. */
export function describeProblem(error: unknown): { title: string; detail: string; requestId?: string } {
  if (isRagApiError(error)) {
    const title =
      error.status === 0 ? `No answer (${error.code})` : `${error.status} ${error.code.replaceAll('_', ' ')}`;
    const fields = error.errors.map((e) => `${e.path}: ${e.message}`).join('; ');
    return {
      title,
      detail: fields && !error.detail.includes(fields) ? `${error.detail} (${fields})` : error.detail,
      ...(error.requestId ? { requestId: error.requestId } : {}),
    };
  }
  return { title: 'Error', detail: error instanceof Error ? error.message : String(error) };
}

export function ProblemNotice({ error }: { error: unknown }) {
  if (error === null || error === undefined) return null;
  const problem = describeProblem(error);
  return (
    <div class="problem" role="alert">
      <strong>{problem.title}</strong> {problem.detail}
      {problem.requestId && <span class="request-id"> · request {problem.requestId}</span>}
    </div>
  );
}
