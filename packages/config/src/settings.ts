import { z } from 'zod';
import { ConfigError, describeIssues, describeProblem } from './parse-config.js';
import { type Env, readSecret, SecretError } from './secret.js';
import { settingPath } from './setting-path.js';

/**
 * A service's configuration declared once, as a table: each setting names its environment variable and its
 * schema in one entry. The zod schema, the mapping from variables to config paths and the start-up report
 * (every problem at once, each with its variable, unreadable secrets included) all come from that table.
 */

/** One environment variable: `plain` as it is, `secret` also from NAME_FILE, `path` resolved by settingPath. */
export interface EnvSetting<S extends z.ZodType = z.ZodType> {
  readonly kind: 'env';
  readonly env: string;
  readonly schema: S;
  readonly read: 'plain' | 'secret' | 'path';
  /** The raw value when the variable is unset, for a schema that says what to set rather than "required". */
  readonly ifUnset?: string;
}

/** Settings under one path; with `whenSet`, read only when that variable is set (else the group is absent). */
export interface SettingGroup<F extends Settings = Settings, S extends z.ZodType = z.ZodType> {
  readonly kind: 'group';
  readonly fields: F;
  readonly whenSet: string | undefined;
  /** The group's schema, its check included: built once from the fields. */
  readonly schema: S;
}

/** A block whose shape is not one variable per field (a union, say): its own schema, reader and names. */
export interface SettingBlock<S extends z.ZodType = z.ZodType> {
  readonly kind: 'block';
  readonly schema: S;
  readonly fromEnv: (env: Env) => unknown;
  /** Variable of each path, relative to the block. */
  readonly envNames: Readonly<Record<string, string>>;
}

export type SettingNode = EnvSetting | SettingGroup | SettingBlock;
export type Settings = { readonly [key: string]: SettingNode };

/** The zod shape of a settings table. */
export type ShapeOf<F extends Settings> = { -readonly [K in keyof F]: F[K]['schema'] };

/** The parsed configuration a settings table describes. */
export type ConfigOf<F extends Settings> = z.output<z.ZodObject<ShapeOf<F>>>;

export function plain<S extends z.ZodType>(env: string, schema: S): EnvSetting<S> {
  return { kind: 'env', env, schema, read: 'plain' };
}

/** A secret: `NAME`, or the file named by `NAME_FILE`. */
export function secret<S extends z.ZodType>(env: string, schema: S): EnvSetting<S> {
  return { kind: 'env', env, schema, read: 'secret' };
}

/** A path: absolute as it is, relative from RAG_BASE_DIR (see setting-path.ts). */
export function pathSetting<S extends z.ZodType>(
  env: string,
  schema: S,
  options: { ifUnset?: string } = {},
): EnvSetting<S> {
  return { kind: 'env', env, schema, read: 'path', ...options };
}

export function group<F extends Settings>(
  fields: F,
  check?: (value: ConfigOf<F>, ctx: z.RefinementCtx) => void,
): SettingGroup<F, z.ZodObject<ShapeOf<F>>> {
  const object = settingsSchema(fields);
  return { kind: 'group', fields, whenSet: undefined, schema: check ? object.superRefine(check) : object };
}

/** A group that exists only when `whenSet` is set (JWT_ISSUER turns JWT sign-in on, for example). */
export function optionalGroup<F extends Settings>(
  whenSet: string,
  fields: F,
  check?: (value: ConfigOf<F>, ctx: z.RefinementCtx) => void,
): SettingGroup<F, z.ZodOptional<z.ZodObject<ShapeOf<F>>>> {
  const object = settingsSchema(fields);
  return { kind: 'group', fields, whenSet, schema: (check ? object.superRefine(check) : object).optional() };
}

export function block<S extends z.ZodType>(
  schema: S,
  fromEnv: (env: Env) => unknown,
  envNames: Readonly<Record<string, string>>,
): SettingBlock<S> {
  return { kind: 'block', schema, fromEnv, envNames };
}

/** The zod schema of a settings table. */
export function settingsSchema<F extends Settings>(settings: F): z.ZodObject<ShapeOf<F>> {
  return z.object(
    Object.fromEntries(Object.entries(settings).map(([key, node]) => [key, node.schema])),
  ) as unknown as z.ZodObject<ShapeOf<F>>;
}

/** Config path → environment variable, for every setting of the table. */
export function settingsEnvNames(settings: Settings, prefix = ''): Record<string, string> {
  const names: Record<string, string> = {};
  for (const [key, node] of Object.entries(settings)) {
    const path = prefix + key;
    if (node.kind === 'env') names[path] = node.env;
    else if (node.kind === 'group') Object.assign(names, settingsEnvNames(node.fields, `${path}.`));
    else for (const [sub, env] of Object.entries(node.envNames)) names[`${path}.${sub}`] = env;
  }
  return names;
}

interface ReadProblem {
  path: string;
  error: SecretError;
}

/** The raw values of a table from the environment: unset variables are left out, so defaults apply. */
export function readSettings(settings: Settings, env: Env): Record<string, unknown> {
  const problems: ReadProblem[] = [];
  const raw = readInto(settings, env, '', problems);
  if (problems.length > 0) throw problems[0]?.error;
  return raw;
}

function readInto(settings: Settings, env: Env, prefix: string, problems: ReadProblem[]) {
  const raw: Record<string, unknown> = {};
  for (const [key, node] of Object.entries(settings)) {
    const path = prefix + key;
    try {
      const value = readNode(node, env, path, problems);
      if (value !== undefined) raw[key] = value;
    } catch (error) {
      if (!(error instanceof SecretError)) throw error;
      problems.push({ path, error });
    }
  }
  return raw;
}

function readNode(node: SettingNode, env: Env, path: string, problems: ReadProblem[]): unknown {
  if (node.kind === 'block') return node.fromEnv(env);
  if (node.kind === 'group') {
    if (node.whenSet !== undefined && env[node.whenSet] === undefined) return undefined;
    return readInto(node.fields, env, `${path}.`, problems);
  }
  const value =
    node.read === 'secret'
      ? readSecret(env, node.env)
      : node.read === 'path'
        ? settingPath(env, env[node.env] ?? node.ifUnset)
        : env[node.env];
  return value ?? node.ifUnset;
}

export interface ConfigDefinition<F extends Settings> {
  readonly settings: F;
  readonly schema: z.ZodType<ConfigOf<F>>;
  readonly envNames: Readonly<Record<string, string>>;
  /** Reads and validates; throws ConfigError listing every problem, unreadable secrets included. */
  load(env: Env): ConfigOf<F>;
}

/**
 * Everything a service's config.ts needs from its table. `check` sees the whole parsed config, for rules
 * across groups; it runs only once every setting is valid on its own.
 */
export function defineConfig<F extends Settings>(
  settings: F,
  check?: (config: ConfigOf<F>, ctx: z.RefinementCtx) => void,
): ConfigDefinition<F> {
  const object = settingsSchema(settings);
  const schema: z.ZodType<ConfigOf<F>> = check ? object.superRefine(check) : object;
  const envNames = settingsEnvNames(settings);
  return {
    settings,
    schema,
    envNames,
    load(env) {
      const readProblems: ReadProblem[] = [];
      const raw = readInto(settings, env, '', readProblems);
      const result = schema.safeParse(raw);
      if (readProblems.length === 0 && result.success) return result.data;
      // A secret that could not be read is reported as such, not again as "missing" by the schema.
      const unread = readProblems.map(({ path }) => path);
      const issues = (result.error?.issues ?? []).filter((issue) => {
        const path = issue.path.join('.');
        return !unread.some((p) => path === p || path.startsWith(`${p}.`));
      });
      throw new ConfigError([
        ...readProblems.map(({ path, error }) =>
          describeProblem(path, error.problem, { [path]: error.variable }),
        ),
        ...describeIssues(issues, envNames),
      ]);
    },
  };
}
