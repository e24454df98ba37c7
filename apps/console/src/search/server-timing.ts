/** One entry of a Server-Timing header (RFC: W3C Server Timing): a name, a duration and a description. */
export interface TimingEntry {
  name: string;
  durationMs: number | null;
  description: string | null;
}

/** Parses `embed;dur=12.5, milvus;dur=3, cache;desc=hit` into entries, in order; malformed parts are skipped. */
export function parseServerTiming(header: string | null): TimingEntry[] {
  if (!header) return [];
  const entries: TimingEntry[] = [];
  for (const part of header.split(',')) {
    const [name, ...params] = part.split(';').map((p) => p.trim());
    if (!name) continue;
    let durationMs: number | null = null;
    let description: string | null = null;
    for (const param of params) {
      const [key, raw = ''] = param.split('=');
      const value = raw.replace(/^"(.*)"$/, '$1');
      if (key === 'dur' && Number.isFinite(Number(value))) durationMs = Number(value);
      if (key === 'desc') description = value;
    }
    entries.push({ name, durationMs, description });
  }
  return entries;
}

/**
 * The stages of a search as the gateway reports them: what the search service spent on each stage, and
 * the gateway's own share (its total less the search service's).
 */
export function searchStages(entries: TimingEntry[]): { name: string; ms: number }[] {
  const by = new Map(entries.map((e) => [e.name, e.durationMs ?? 0]));
  const stages = ['embed', 'milvus', 'db', 'rerank']
    .filter((name) => by.has(name))
    .map((name) => ({ name, ms: by.get(name) ?? 0 }));
  const search = by.get('search');
  const gateway = by.get('gateway');
  if (search !== undefined) {
    const named = stages.reduce((sum, s) => sum + s.ms, 0);
    stages.push({ name: 'other (search service)', ms: Math.max(0, search - named) });
  }
  if (gateway !== undefined && search !== undefined) {
    stages.push({ name: 'gateway', ms: Math.max(0, gateway - search) });
  }
  return stages;
}
