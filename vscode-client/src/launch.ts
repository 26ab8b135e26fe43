/**
 * Which command starts the server: `rtk.server.command`, then
 * `rtk.server.pythonPath -m rtk_lsp lsp`, then `rtk-lsp` on PATH, then the
 * private install that "RTK: Install rtk-lsp" made.
 * Each candidate is checked before use, so that a missing server gives one
 * clear message instead of a crashing client.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { type ClientSettings, resolvePathSetting } from './settings';

export const DEFAULT_COMMAND = 'rtk-lsp';
export const PYTHON_MODULE = 'rtk_lsp';

export interface LaunchCandidate {
  source: 'command' | 'pythonPath' | 'default' | 'managed';
  command: string;
  args: string[];
}

export interface ProbeFailure {
  candidate: LaunchCandidate;
  reason: string;
}

export interface LaunchChoice {
  found?: LaunchCandidate;
  failures: ProbeFailure[];
}

export function describeCandidate(c: LaunchCandidate): string {
  return [c.command, ...c.args].map((a) => (/\s/.test(a) ? JSON.stringify(a) : a)).join(' ');
}

/** The candidates to try, in order. `managed`: the `rtk-lsp` of the private install, if there is one. */
export function launchCandidates(
  settings: ClientSettings,
  vars: { workspaceFolder?: string; home?: string; env?: NodeJS.ProcessEnv; managed?: string } = {},
): LaunchCandidate[] {
  const out: LaunchCandidate[] = [];
  if (settings.command) {
    out.push({ source: 'command', command: resolvePathSetting(settings.command, vars), args: ['lsp'] });
  }
  if (settings.pythonPath) {
    out.push({
      source: 'pythonPath',
      command: resolvePathSetting(settings.pythonPath, vars),
      args: ['-m', PYTHON_MODULE, 'lsp'],
    });
  }
  if (!settings.command) {
    out.push({ source: 'default', command: DEFAULT_COMMAND, args: ['lsp'] });
    if (vars.managed) {
      out.push({ source: 'managed', command: vars.managed, args: ['lsp'] });
    }
  }
  return out;
}

export interface ProbeHost {
  /** Absolute path of an executable (a path, or a name looked up on PATH), or undefined. */
  which(command: string): string | undefined;
  /** Runs a program; resolves with its exit code and stderr. */
  run(command: string, args: string[], timeoutMs: number): Promise<{ code: number | null; stderr: string }>;
}

function isExecutableFile(file: string): boolean {
  try {
    const st = fs.statSync(file);
    if (!st.isFile()) {
      return false;
    }
    if (process.platform === 'win32') {
      return true;
    }
    fs.accessSync(file, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Looks a command up like a shell would. */
export function which(command: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const exts =
    process.platform === 'win32' ? ['', ...(env.PATHEXT ?? '.EXE;.CMD;.BAT;.COM').split(';')] : [''];
  if (command.includes('/') || command.includes('\\')) {
    for (const ext of exts) {
      if (isExecutableFile(command + ext)) {
        return path.resolve(command + ext);
      }
    }
    return undefined;
  }
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (!dir) {
      continue;
    }
    for (const ext of exts) {
      const file = path.join(dir, command + ext);
      if (isExecutableFile(file)) {
        return file;
      }
    }
  }
  return undefined;
}

export const nodeProbeHost: ProbeHost = {
  which: (command) => which(command),
  run: (command, args, timeoutMs) =>
    new Promise((resolve) => {
      execFile(command, args, { timeout: timeoutMs, windowsHide: true }, (error, _stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : null) : 0;
        resolve({ code, stderr: String(stderr || (error ? error.message : '')) });
      });
    }),
};

export type ProbeResult = { ok: true; command: string } | { ok: false; reason: string };

/** Checks one candidate: the resolved executable, or why it cannot work. */
export async function probe(candidate: LaunchCandidate, host: ProbeHost): Promise<ProbeResult> {
  const exe = host.which(candidate.command);
  if (!exe) {
    return {
      ok: false,
      reason:
        candidate.source === 'default'
          ? `\`${candidate.command}\` was not found on PATH`
          : candidate.source === 'managed'
            ? `the rtk-lsp that "RTK: Install rtk-lsp" installed (\`${candidate.command}\`) is missing`
            : `\`${candidate.command}\` (rtk.server.${candidate.source}) does not exist or is not executable`,
    };
  }
  if (candidate.source === 'pythonPath') {
    const result = await host.run(exe, ['-c', `import ${PYTHON_MODULE}`], 20000);
    if (result.code !== 0) {
      const last = result.stderr.trim().split('\n').pop() ?? '';
      return {
        ok: false,
        reason: `\`${exe}\` cannot import ${PYTHON_MODULE}${last ? ` (${last})` : ''}`,
      };
    }
  }
  return { ok: true, command: exe };
}

/** The first candidate that works, and why the ones before it did not. */
export async function chooseLaunch(candidates: LaunchCandidate[], host: ProbeHost): Promise<LaunchChoice> {
  const failures: ProbeFailure[] = [];
  for (const candidate of candidates) {
    const result = await probe(candidate, host).catch(
      (e: unknown): ProbeResult => ({ ok: false, reason: String(e) }),
    );
    if (result.ok) {
      return { found: { ...candidate, command: result.command }, failures };
    }
    failures.push({ candidate, reason: result.reason });
  }
  return { failures };
}

/** The one message shown when no candidate works: what failed and the ways to fix it. */
export function notFoundMessage(failures: ProbeFailure[]): string {
  const what = failures.length > 0 ? failures.map((f) => f.reason).join('; ') : 'no server command is configured';
  return (
    `RTK: cannot start the language server: ${what}. ` +
    '"Install rtk-lsp" sets up a private copy (a virtual environment in VS Code\'s storage, with the rtk-lsp that comes with the extension); ' +
    'or install rtk-lsp yourself and set `rtk.server.command` to its `rtk-lsp` or `rtk.server.pythonPath` to a Python that has rtk_lsp installed.'
  );
}
