/** Health probes and scrapes arrive every few seconds: tracing them only buries real traffic. */
const probePaths = new Set(['/health', '/health/ready', '/metrics']);

export function isProbePath(url: string): boolean {
  const path = url.split('?', 1)[0] ?? url;
  return probePaths.has(path);
}
