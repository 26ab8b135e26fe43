import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  InstallError,
  MARKER,
  type RunResult,
  type Runner,
  bundledWheel,
  choosePython,
  installServer,
  managedServer,
  spawnRunner,
  venvDir,
} from '../../src/install';

const temps: string[] = [];
function tempDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'rtk-install-test-'));
  temps.push(d);
  return d;
}
afterEach(() => {
  for (const d of temps.splice(0)) {
    fs.rmSync(d, { recursive: true, force: true });
  }
});

/** A runner answering from a table keyed by "command arg0 arg1"; anything else does not exist. */
function scripted(answers: Record<string, RunResult | ((args: string[]) => RunResult)>): Runner {
  return async (command, args) => {
    const answer = answers[[command, ...args.slice(0, 2)].join(' ')] ?? { code: null, output: `spawn ${command} ENOENT` };
    return typeof answer === 'function' ? answer(args) : answer;
  };
}

const version = (v: string): RunResult => ({ code: 0, output: `${v}\n` });
const noop = () => undefined;

describe('choosePython', () => {
  it('takes the first candidate that runs and is at least 3.11', async () => {
    const run = scripted({ 'old -c import sys; print("%d.%d" % sys.version_info[:2])': version('3.9'), 'python3 -c import sys; print("%d.%d" % sys.version_info[:2])': version('3.12') });
    const chosen = await choosePython(
      [
        { command: '/missing/python', origin: "the Python extension's selected interpreter" },
        { command: 'old', origin: 'old on PATH' },
        { command: 'python3', origin: 'python3 on PATH' },
      ],
      run,
      noop,
    );
    expect(chosen).toEqual({ python: { command: 'python3', origin: 'python3 on PATH' }, version: '3.12' });
  });

  it('names every candidate and what to do when none fits', async () => {
    const run = scripted({ 'old -c import sys; print("%d.%d" % sys.version_info[:2])': version('3.10') });
    const error = await choosePython(
      [
        { command: 'old', origin: 'old on PATH' },
        { command: 'python3', origin: 'python3 on PATH' },
      ],
      run,
      noop,
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InstallError);
    expect((error as InstallError).message).toBe(
      'no Python 3.11 or later was found: old on PATH (`old`) is Python 3.10; python3 on PATH (`python3`) did not run: spawn python3 ENOENT.',
    );
    expect((error as InstallError).advice).toMatch(/sudo apt-get install python3 python3-venv.*Python: Select Interpreter/);
  });
});

describe('installServer failures', () => {
  const python = [{ command: 'python3', origin: 'python3 on PATH' }];
  const ok311 = { 'python3 -c import sys; print("%d.%d" % sys.version_info[:2])': version('3.11') };

  it('says so when the extension carries no wheel', async () => {
    const storage = tempDir();
    const error = await installServer({ pythons: python, storageDir: storage, wheel: undefined, run: scripted(ok311), report: noop, log: noop }).catch((e: unknown) => e);
    expect((error as InstallError).message).toMatch(/carries no rtk-lsp wheel/);
    expect((error as InstallError).advice).toMatch(/rtk\.server\.command/);
  });

  it('points Debian users at python3-venv when ensurepip is missing, and leaves no environment', async () => {
    const storage = tempDir();
    const venv = venvDir(storage);
    const run = scripted({
      ...ok311,
      [`python3 -m venv`]: () => {
        fs.mkdirSync(venv, { recursive: true }); // a half-made environment, as venv leaves one
        return {
          code: 1,
          output:
            'The virtual environment was not created successfully because ensurepip is not\navailable.  On Debian/Ubuntu systems, you need to install the python3-venv\npackage using the following command.\n',
        };
      },
    });
    const error = (await installServer({ pythons: python, storageDir: storage, wheel: '/x/rtk_lsp-0.1.0-py3-none-any.whl', run, report: noop, log: noop }).catch(
      (e: unknown) => e,
    )) as InstallError;
    expect(error).toBeInstanceOf(InstallError);
    expect(error.advice).toMatch(/sudo apt-get install python3-venv/);
    expect(fs.existsSync(venv)).toBe(false);
  });

  it('explains a pip failure (network, index) and removes the environment', async () => {
    const storage = tempDir();
    const venv = venvDir(storage);
    const run = scripted({
      ...ok311,
      'python3 -m venv': () => {
        fs.mkdirSync(venv, { recursive: true });
        return { code: 0, output: '' };
      },
      [`${path.join(venv, 'bin', 'python')} -m pip`]: {
        code: 1,
        output: "ERROR: Could not find a version that satisfies the requirement pygls<3,>=2.1 (from rtk-lsp) (from versions: none)\nERROR: No matching distribution found for pygls<3,>=2.1\n",
      },
    });
    const reports: string[] = [];
    const error = (await installServer({
      pythons: python,
      storageDir: storage,
      wheel: '/x/rtk_lsp-0.1.0-py3-none-any.whl',
      run,
      report: (m) => reports.push(m),
      log: noop,
    }).catch((e: unknown) => e)) as InstallError;
    expect(error.message).toMatch(/^pip could not install rtk-lsp: .*No matching distribution found for pygls/);
    expect(error.advice).toMatch(/network or proxy/);
    expect(reports).toEqual([
      'looking for Python…',
      'creating a virtual environment with Python 3.11…',
      'installing rtk_lsp-0.1.0-py3-none-any.whl and its dependencies…',
    ]);
    expect(fs.existsSync(venv)).toBe(false);
    expect(managedServer(storage)).toBeUndefined();
  });
});

describe('bundledWheel', () => {
  it('finds the one wheel in server/', () => {
    const ext = tempDir();
    expect(bundledWheel(ext)).toBeUndefined();
    fs.mkdirSync(path.join(ext, 'server'));
    fs.writeFileSync(path.join(ext, 'server', 'rtk_lsp-0.1.0-py3-none-any.whl'), '');
    expect(bundledWheel(ext)).toBe(path.join(ext, 'server', 'rtk_lsp-0.1.0-py3-none-any.whl'));
  });
});

/** A minimal real wheel named rtk-lsp whose `rtk-lsp --version` prints its version; no dependencies. */
function makeWheel(dir: string, ver: string): string {
  const file = path.join(dir, `rtk_lsp-${ver}-py3-none-any.whl`);
  const script = `
import sys, zipfile
path, ver = sys.argv[1], sys.argv[2]
info = f"rtk_lsp-{ver}.dist-info"
files = {
    "rtk_lsp/__init__.py": "",
    "rtk_lsp/cli.py": f"def main():\\n    print('rtk-lsp {ver}')\\n",
    f"{info}/METADATA": f"Metadata-Version: 2.1\\nName: rtk-lsp\\nVersion: {ver}\\n",
    f"{info}/WHEEL": "Wheel-Version: 1.0\\nGenerator: test\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n",
    f"{info}/entry_points.txt": "[console_scripts]\\nrtk-lsp = rtk_lsp.cli:main\\n",
}
files[f"{info}/RECORD"] = "".join(f"{name},,\\n" for name in [*files, f"{info}/RECORD"])
with zipfile.ZipFile(path, "w") as z:
    for name, text in files.items():
        z.writestr(name, text)
`;
  execFileSync('python3', ['-c', script, file, ver]);
  return file;
}

describe('installServer for real (python3 -m venv, pip, a local wheel without dependencies)', () => {
  it('makes the environment, checks the server, and replaces it on reinstall', { timeout: 240_000 }, async () => {
    const storage = path.join(tempDir(), 'global storage'); // a space, as on macOS
    const wheels = tempDir();
    const lines: string[] = [];
    const options = { pythons: [{ command: 'python3', origin: 'python3 on PATH' }], storageDir: storage, run: spawnRunner, report: noop, log: (l: string) => lines.push(l) };

    const first = await installServer({ ...options, wheel: makeWheel(wheels, '0.0.1') });
    expect(first.wheel).toBe('rtk_lsp-0.0.1-py3-none-any.whl');
    expect(managedServer(storage)).toEqual(first);
    expect(execFileSync(first.command, ['--version'], { encoding: 'utf8' }).trim()).toBe('rtk-lsp 0.0.1');
    expect(fs.readFileSync(path.join(venvDir(storage), MARKER), 'utf8').trim()).toBe(first.wheel);
    expect(lines.some((l) => /Successfully installed rtk-lsp-0\.0\.1/.test(l))).toBe(true);

    const second = await installServer({ ...options, wheel: makeWheel(wheels, '0.0.2') });
    expect(second.command).toBe(first.command);
    expect(execFileSync(second.command, ['--version'], { encoding: 'utf8' }).trim()).toBe('rtk-lsp 0.0.2');
    expect(managedServer(storage)?.wheel).toBe('rtk_lsp-0.0.2-py3-none-any.whl');
  });
});
