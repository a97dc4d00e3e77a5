import { readFileSync } from 'node:fs';
import { OPTIONS, type OptionSpec, type OptionType } from './config-options.ts';

export interface IceServer {
  urls: string[];
  username?: string;
  credential?: string;
}

type ValueOf<T extends OptionType> = T extends 'integer'
  ? number
  : T extends 'boolean'
    ? boolean
    : T extends 'string[]'
      ? string[]
      : T extends 'ice-servers'
        ? IceServer[]
        : string;

type Option = (typeof OPTIONS)[number];
/** The one typed configuration object; keys are the dotted option keys. */
export type Config = { readonly [O in Option as O['key']]: ValueOf<O['type']> };
export type ConfigKey = keyof Config;

export class ConfigError extends Error {}

export function envName(key: string): string {
  return 'SWITCHBOARD_' + key.split('.').map((part) => part.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase()).join('_');
}

export function flagName(key: string): string {
  return '--' + key.split('.').map((part) => part.replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase()).join('.');
}

/** Raw string/JSON sources, lowest precedence first: defaults < file < env < flags < overrides. */
export interface ConfigSources {
  argv?: readonly string[];
  env?: Readonly<Record<string, string | undefined>>;
  overrides?: Partial<Record<ConfigKey, unknown>>;
}

export function loadConfig(sources: ConfigSources = {}): Config {
  const env = sources.env ?? {};
  const flags = parseFlags(sources.argv ?? []);
  const file = flags.get('--config') ?? env.SWITCHBOARD_CONFIG;
  flags.delete('--config');
  const fileValues = file ? readConfigFile(file) : new Map<string, unknown>();

  const known = new Set(OPTIONS.map((o) => flagName(o.key)));
  for (const flag of flags.keys()) {
    if (!known.has(flag)) throw new ConfigError(`unknown flag ${flag} (see the configuration table in README.md)`);
  }
  const knownKeys = new Set<string>(OPTIONS.map((o) => o.key));
  for (const key of fileValues.keys()) {
    if (!knownKeys.has(key)) throw new ConfigError(`unknown key "${key}" in ${file}`);
  }
  for (const key of Object.keys(sources.overrides ?? {})) {
    if (!knownKeys.has(key)) throw new ConfigError(`unknown configuration key "${key}"`);
  }

  const config: Record<string, unknown> = {};
  for (const option of OPTIONS as readonly OptionSpec[]) {
    const override = (sources.overrides as Record<string, unknown> | undefined)?.[option.key];
    const flag = flags.get(flagName(option.key));
    const fromEnv = env[envName(option.key)];
    let value: unknown = option.default;
    let origin = 'default';
    if (fileValues.has(option.key)) [value, origin] = [fileValues.get(option.key), `${file}`];
    if (fromEnv !== undefined) [value, origin] = [fromEnv, envName(option.key)];
    if (flag !== undefined) [value, origin] = [flag, flagName(option.key)];
    if (override !== undefined) [value, origin] = [override, `override ${option.key}`];
    config[option.key] = coerce(option, value, origin);
  }
  if (Boolean(config['tls.cert']) !== Boolean(config['tls.key'])) {
    throw new ConfigError('tls.cert and tls.key must be given together');
  }
  if ((config['turn.urls'] as string[]).length > 0 && !config['turn.secret']) {
    throw new ConfigError('turn.urls needs turn.secret (coturn static-auth-secret) to mint credentials');
  }
  return Object.freeze(config) as Config;
}

function parseFlags(argv: readonly string[]): Map<string, string> {
  const flags = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) throw new ConfigError(`unexpected argument "${arg}"`);
    const eq = arg.indexOf('=');
    if (eq > 0) {
      flags.set(arg.slice(0, eq), arg.slice(eq + 1));
    } else if (i + 1 < argv.length && !argv[i + 1]!.startsWith('--')) {
      flags.set(arg, argv[++i]!);
    } else {
      flags.set(arg, 'true');
    }
  }
  return flags;
}

function readConfigFile(file: string): Map<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new ConfigError(`cannot read config file ${file}: ${(error as Error).message}`);
  }
  if (!isPlainObject(parsed)) throw new ConfigError(`config file ${file} must hold a JSON object`);
  const values = new Map<string, unknown>();
  const knownKeys = new Set<string>(OPTIONS.map((o) => o.key));
  // Accepts both nesting ({"turn":{"ttlS":60}}) and dotted keys ({"turn.ttlS":60}).
  const walk = (object: Record<string, unknown>, prefix: string): void => {
    for (const [name, value] of Object.entries(object)) {
      const key = prefix + name;
      if (!knownKeys.has(key) && isPlainObject(value)) walk(value, key + '.');
      else values.set(key, value);
    }
  };
  walk(parsed, '');
  return values;
}

function coerce(option: OptionSpec, value: unknown, origin: string): unknown {
  const fail = (why: string): never => {
    throw new ConfigError(`invalid ${option.key} (from ${origin}): ${why}; got ${JSON.stringify(value)}`);
  };
  switch (option.type) {
    case 'integer': {
      const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
      if (typeof n !== 'number' || !Number.isSafeInteger(n)) return fail('expected an integer');
      if (option.min !== undefined && n < option.min) return fail(`must be ≥ ${option.min}`);
      return n;
    }
    case 'boolean':
      if (value === true || value === 'true' || value === '1') return true;
      if (value === false || value === 'false' || value === '0') return false;
      return fail('expected true or false');
    case 'string':
      if (typeof value !== 'string') return fail('expected a string');
      return value;
    case 'enum':
      if (typeof value !== 'string' || !option.values!.includes(value)) return fail(`expected one of ${option.values!.join(', ')}`);
      return value;
    case 'string[]': {
      const list = typeof value === 'string' ? parseList(value) : value;
      if (!Array.isArray(list) || !list.every((v) => typeof v === 'string')) return fail('expected a list of strings');
      return list;
    }
    case 'ice-servers': {
      const list = typeof value === 'string' ? parseJson(value, fail) : value;
      if (!Array.isArray(list)) return fail('expected a JSON array of RTCIceServer objects');
      return list.map((entry) => {
        if (!isPlainObject(entry)) return fail('each ICE server must be an object');
        const urls = typeof entry.urls === 'string' ? [entry.urls] : entry.urls;
        if (!Array.isArray(urls) || urls.length === 0 || !urls.every((u) => typeof u === 'string')) {
          return fail('each ICE server needs "urls": a string or an array of strings');
        }
        const server: IceServer = { urls: urls as string[] };
        if (typeof entry.username === 'string') server.username = entry.username;
        if (typeof entry.credential === 'string') server.credential = entry.credential;
        return server;
      });
    }
  }
}

function parseList(text: string): unknown {
  const trimmed = text.trim();
  if (trimmed.startsWith('[')) {
    try {
      return JSON.parse(trimmed);
    } catch {
      return undefined;
    }
  }
  return trimmed === '' ? [] : trimmed.split(',').map((s) => s.trim());
}

function parseJson(text: string, fail: (why: string) => never): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return fail('not valid JSON');
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
