/** Dates and numbers as the console shows them: local time, to the second; scores to four places. */
export function formatTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleString(undefined, { hour12: false });
}

export function formatScore(score: number | undefined): string {
  return score === undefined ? '—' : score.toFixed(4);
}
