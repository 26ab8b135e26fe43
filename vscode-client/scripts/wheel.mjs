/**
 * Builds the rtk-lsp wheel that the .vsix carries (server/rtk_lsp-*.whl) from the repository
 * root, so that "RTK: Install rtk-lsp" can install it without the source tree or a package index
 * for rtk-lsp itself. Python: RTK_LSP_PYTHON, else python3 (pip builds in an isolated env).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const client = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const root = resolve(client, '..');
const out = resolve(client, 'server');
const python = process.env.RTK_LSP_PYTHON || 'python3';

rmSync(out, { recursive: true, force: true });
mkdirSync(out);
const built = spawnSync(
  python,
  ['-m', 'pip', 'wheel', '--no-deps', '--disable-pip-version-check', '--quiet', '--wheel-dir', out, root],
  { stdio: 'inherit' },
);
const wheels = readdirSync(out).filter((f) => /^rtk_lsp-.*\.whl$/.test(f));
if (built.status !== 0 || wheels.length !== 1) {
  console.error(`wheel: \`${python} -m pip wheel\` failed (exit ${built.status}); found ${JSON.stringify(wheels)} in ${out}`);
  process.exit(1);
}
console.log(`wheel: server/${wheels[0]}`);
