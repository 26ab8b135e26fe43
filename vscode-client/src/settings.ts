/**
 * The `rtk.*` settings: reading them, the object the server receives (as
 * initialization options and as the `rtk` section of `workspace/configuration`),
 * and which changes need a restart.
 */
import * as os from 'node:os';
import * as path from 'node:path';

/** What the server reads (camelCase, the `rtk` configuration section). */
export interface ServerOptions {
  tokenBudget: number;
  exclude: string[];
  maxFileSize: number;
  historyDepth: number;
  planTimeout: number;
  http: { enabled: boolean; port: number };
  episodes: { enabled: boolean; keepTasks: boolean };
}

/** Settings only the client reads. */
export interface ClientSettings {
  command: string;
  pythonPath: string;
  trace: 'off' | 'messages' | 'verbose';
}

export const DEFAULTS: ServerOptions = {
  tokenBudget: 4000,
  exclude: [],
  maxFileSize: 1048576,
  historyDepth: 5000,
  planTimeout: 30,
  // Off under VS Code: remote windows announce every port a process opens (see rtk.http.enabled).
  http: { enabled: false, port: 0 },
  episodes: { enabled: true, keepTasks: false },
};

/** The part of `vscode.WorkspaceConfiguration` this module needs. */
export interface ConfigReader {
  get<T>(key: string): T | undefined;
}

/** The budget presets offered by `RTK: Change Token Budget`. */
export const BUDGET_PRESETS = [1000, 2000, 4000, 8000, 16000, 32000, 64000];

function int(value: unknown, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    return fallback;
  }
  return Math.min(max, Math.max(min, Math.floor(value)));
}

function bool(value: unknown, fallback: boolean): boolean {
  return typeof value === 'boolean' ? value : fallback;
}

function positive(value: unknown, fallback: number): number {
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : fallback;
}

/** Maps the `rtk` configuration section (reader rooted at `rtk`) to the server's options. */
export function toServerOptions(config: ConfigReader): ServerOptions {
  const exclude = config.get<unknown>('exclude');
  return {
    tokenBudget: int(config.get('tokenBudget'), DEFAULTS.tokenBudget, 1),
    exclude: Array.isArray(exclude)
      ? exclude.filter((g): g is string => typeof g === 'string' && g.trim() !== '').map((g) => g.trim())
      : [],
    maxFileSize: int(config.get('maxFileSize'), DEFAULTS.maxFileSize, 1),
    historyDepth: int(config.get('historyDepth'), DEFAULTS.historyDepth, 0),
    planTimeout: positive(config.get('planTimeout'), DEFAULTS.planTimeout),
    http: {
      enabled: bool(config.get('http.enabled'), DEFAULTS.http.enabled),
      port: int(config.get('http.port'), DEFAULTS.http.port, 0, 65535),
    },
    episodes: {
      enabled: bool(config.get('episodes.enabled'), DEFAULTS.episodes.enabled),
      keepTasks: bool(config.get('episodes.keepTasks'), DEFAULTS.episodes.keepTasks),
    },
  };
}

export function readClientSettings(config: ConfigReader): ClientSettings {
  const trace = config.get<string>('trace.server');
  return {
    command: (config.get<string>('server.command') ?? '').trim(),
    pythonPath: (config.get<string>('server.pythonPath') ?? '').trim(),
    trace: trace === 'messages' || trace === 'verbose' ? trace : 'off',
  };
}

/** Settings whose change restarts the server. */
export const RESTART_SETTINGS = ['rtk.server.command', 'rtk.server.pythonPath'];

export function needsRestart(affects: (section: string) => boolean): boolean {
  return RESTART_SETTINGS.some((s) => affects(s));
}

/**
 * Resolves `~`, `${userHome}`, `${workspaceFolder}` and `${env:NAME}` in a path setting.
 * A relative path containing a separator is taken relative to the workspace folder.
 */
export function resolvePathSetting(
  value: string,
  vars: { workspaceFolder?: string; home?: string; env?: NodeJS.ProcessEnv } = {},
): string {
  const home = vars.home ?? os.homedir();
  const env = vars.env ?? process.env;
  let out = value.trim();
  if (out === '~' || out.startsWith('~/') || out.startsWith('~\\')) {
    out = home + out.slice(1);
  }
  out = out.replace(/\$\{userHome\}/g, home);
  out = out.replace(/\$\{env:([^}]+)\}/g, (_m, name: string) => env[name] ?? '');
  if (vars.workspaceFolder) {
    out = out.replace(/\$\{workspaceFolder\}/g, vars.workspaceFolder);
    if (!path.isAbsolute(out) && /[\\/]/.test(out)) {
      out = path.join(vars.workspaceFolder, out);
    }
  }
  return out;
}
