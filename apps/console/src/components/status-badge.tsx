import type { DocumentStatus } from '@rag/contracts/public-api';

export function StatusBadge({ status }: { status: DocumentStatus }) {
  return <span class={`status status-${status}`}>{status}</span>;
}
