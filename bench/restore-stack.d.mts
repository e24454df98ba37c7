// Types of restore-stack.mjs for the TypeScript tests that use it.
export declare const databaseUrl: string;
export declare const redisUrl: string;

export interface DataDirStack {
  dataDir: string;
  schema: string;
  redisKeyPrefix: string;
  adminKey: string;
  gatewayUrl: string;
  services: Array<{ name: string; url: string; output(lines?: number): string }>;
  // biome-ignore lint/suspicious/noExplicitAny: response bodies are free-form JSON, checked field by field
  call(method: string, path: string, body?: unknown, key?: string): Promise<{ status: number; body: any }>;
  stop(): Promise<void>;
}

export declare function startDataDirStack(options: {
  dataDir: string;
  modelDir: string;
  workerEnv?: Record<string, string>;
}): Promise<DataDirStack>;

export declare function dropStackState(stack: { schema: string; redisKeyPrefix: string }): Promise<void>;
