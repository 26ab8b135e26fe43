/**
 * "Install rtk-lsp": a private virtual environment in the extension's global storage,
 * made with a Python found on the machine, holding the rtk-lsp wheel that the .vsix
 * carries (its dependencies come from the package index pip is configured for).
 * No `vscode` import: the extension passes in how to run programs and report progress.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

/** rtk-lsp needs this Python or newer. */
export const MIN_PYTHON: [number, number] = [3, 11];
/** Written last into the environment: its presence means the install completed. */
export const MARKER = 'rtk-lsp-wheel.txt';

const WINDOWS = process.platform === 'win32';

export function venvDir(storageDir: string): string {
  return path.join(storageDir, 'venv');
}

/** A program of the environment (`python`, `rtk-lsp`). */
export function venvProgram(venv: string, name: string): string {
  return WINDOWS ? path.join(venv, 'Scripts', `${name}.exe`) : path.join(venv, 'bin', name);
}

export interface ManagedServer {
  /** The `rtk-lsp` executable of the environment. */
  command: string;
  /** File name of the wheel it was installed from. */
  wheel: string;
}

/** The completed private install, if there is one. */
export function managedServer(storageDir: string): ManagedServer | undefined {
  const venv = venvDir(storageDir);
  try {
    const wheel = fs.readFileSync(path.join(venv, MARKER), 'utf8').trim();
    const command = venvProgram(venv, 'rtk-lsp');
    return fs.existsSync(command) ? { command, wheel } : undefined;
  } catch {
    return undefined;
  }
}

/** The rtk-lsp wheel inside the extension (`server/rtk_lsp-*.whl`), if this build has one. */
export function bundledWheel(extensionDir: string): string | undefined {
  const dir = path.join(extensionDir, 'server');
  try {
    const wheels = fs.readdirSync(dir).filter((f) => /^rtk_lsp-.*\.whl$/.test(f));
    return wheels.length === 1 ? path.join(dir, wheels[0]) : undefined;
  } catch {
    return undefined;
  }
}

/** A failure the user can act on: what went wrong, and what to do. */
export class InstallError extends Error {
  constructor(
    message: string,
    readonly advice: string,
  ) {
    super(message);
    this.name = 'InstallError';
  }
}

export interface RunResult {
  code: number | null;
  output: string;
}

/** Runs a program; every line of its output goes to `onLine`. */
export type Runner = (command: string, args: string[], onLine: (line: string) => void) => Promise<RunResult>;

/** Spawns without a shell; output is kept (the last 64 KB) and streamed line by line. */
export const spawnRunner: Runner = (command, args, onLine) =>
  new Promise((resolve) => {
    let child: ChildProcess;
    let output = '';
    let pending = '';
    const take = (chunk: Buffer) => {
      const text = chunk.toString('utf8');
      output = (output + text).slice(-65536);
      const lines = (pending + text).split(/\r?\n/);
      pending = lines.pop() ?? '';
      lines.filter((l) => l.trim() !== '').forEach(onLine);
    };
    try {
      child = spawn(command, args, { windowsHide: true, env: { ...process.env, PIP_NO_INPUT: '1', PYTHONUNBUFFERED: '1' } });
    } catch (error) {
      resolve({ code: null, output: String(error) });
      return;
    }
    child.stdout?.on('data', take);
    child.stderr?.on('data', take);
    child.on('error', (error) => resolve({ code: null, output: `${output}${String(error)}` }));
    child.on('close', (code) => {
      if (pending.trim() !== '') {
        onLine(pending);
      }
      resolve({ code, output });
    });
  });

export interface PythonCandidate {
  /** A path or a name looked up on PATH. */
  command: string;
  /** Where it came from, for messages ("the Python extension's interpreter", "python3 on PATH"). */
  origin: string;
}

export interface InstallOptions {
  /** Tried in order; the first that runs and is new enough is used. */
  pythons: PythonCandidate[];
  storageDir: string;
  wheel: string | undefined;
  run: Runner;
  /** A short message for the progress notification. */
  report(message: string): void;
  /** A line for the log. */
  log(line: string): void;
}

const lastLines = (text: string, n = 3) =>
  text
    .trim()
    .split(/\r?\n/)
    .filter((l) => l.trim() !== '')
    .slice(-n)
    .join(' | ');

/** The first candidate that runs and is at least MIN_PYTHON, or an InstallError naming them all. */
export async function choosePython(
  pythons: PythonCandidate[],
  run: Runner,
  log: (line: string) => void,
): Promise<{ python: PythonCandidate; version: string }> {
  const tried: string[] = [];
  for (const candidate of pythons) {
    const result = await run(candidate.command, ['-c', 'import sys; print("%d.%d" % sys.version_info[:2])'], log);
    const version = /^(\d+)\.(\d+)$/m.exec(result.output);
    if (result.code !== 0 || !version) {
      tried.push(`${candidate.origin} (\`${candidate.command}\`) did not run${result.output ? `: ${lastLines(result.output, 1)}` : ''}`);
      continue;
    }
    const [major, minor] = [Number(version[1]), Number(version[2])];
    if (major < MIN_PYTHON[0] || (major === MIN_PYTHON[0] && minor < MIN_PYTHON[1])) {
      tried.push(`${candidate.origin} (\`${candidate.command}\`) is Python ${major}.${minor}`);
      continue;
    }
    return { python: candidate, version: `${major}.${minor}` };
  }
  throw new InstallError(
    `no Python ${MIN_PYTHON.join('.')} or later was found: ${tried.join('; ') || 'no candidates'}.`,
    `Install Python ${MIN_PYTHON.join('.')}+ (Debian/Ubuntu: \`sudo apt-get install python3 python3-venv\`) or select one with "Python: Select Interpreter", then run "RTK: Install rtk-lsp" again.`,
  );
}

/**
 * Makes `<storage>/venv` with the wheel installed and returns the server it holds.
 * A previous environment is replaced; a failed attempt leaves none behind.
 */
export async function installServer(options: InstallOptions): Promise<ManagedServer> {
  const { storageDir, wheel, run, report, log } = options;
  if (!wheel) {
    throw new InstallError(
      'this build of the extension carries no rtk-lsp wheel (server/rtk_lsp-*.whl).',
      'Install rtk-lsp yourself (see the project README: pipx, a virtual environment or a wheel) and set `rtk.server.command` to its `rtk-lsp`.',
    );
  }
  report('looking for Python…');
  const { python, version } = await choosePython(options.pythons, run, log);
  log(`Using ${python.origin}: ${python.command} (Python ${version})`);

  const venv = venvDir(storageDir);
  fs.rmSync(venv, { recursive: true, force: true });
  fs.mkdirSync(storageDir, { recursive: true });
  const failed = (error: InstallError): never => {
    fs.rmSync(venv, { recursive: true, force: true });
    throw error;
  };

  report(`creating a virtual environment with Python ${version}…`);
  const made = await run(python.command, ['-m', 'venv', venv], log);
  if (made.code !== 0) {
    failed(
      new InstallError(
        `\`${python.command} -m venv\` failed: ${lastLines(made.output)}.`,
        /ensurepip|python3(\.\d+)?-venv/.test(made.output)
          ? 'This Python lacks the venv module: on Debian/Ubuntu run `sudo apt-get install python3-venv`, then run "RTK: Install rtk-lsp" again.'
          : 'See the RTK output for the details; select another interpreter with "Python: Select Interpreter" and try again.',
      ),
    );
  }

  report(`installing ${path.basename(wheel)} and its dependencies…`);
  const pip = await run(
    venvProgram(venv, 'python'),
    ['-m', 'pip', 'install', '--disable-pip-version-check', '--no-input', wheel],
    log,
  );
  if (pip.code !== 0) {
    failed(
      new InstallError(
        `pip could not install rtk-lsp: ${lastLines(pip.output)}.`,
        'Its dependencies come from PyPI (or the index in your pip configuration): check the network or proxy settings, see the RTK output for pip\'s messages, then run "RTK: Install rtk-lsp" again.',
      ),
    );
  }

  report('checking the installed server…');
  const command = venvProgram(venv, 'rtk-lsp');
  const check = await run(command, ['--version'], log);
  if (check.code !== 0 || !/^rtk-lsp \S+/m.test(check.output)) {
    failed(
      new InstallError(
        `the installed \`rtk-lsp --version\` failed: ${lastLines(check.output)}.`,
        'See the RTK output for the details.',
      ),
    );
  }
  fs.writeFileSync(path.join(venv, MARKER), `${path.basename(wheel)}\n`);
  return { command, wheel: path.basename(wheel) };
}
