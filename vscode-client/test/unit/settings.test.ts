import { describe, expect, it } from 'vitest';
import {
  DEFAULTS,
  needsRestart,
  readClientSettings,
  resolvePathSetting,
  toServerOptions,
} from '../../src/settings';

const reader = (values: Record<string, unknown>) => ({ get: <T>(key: string) => values[key] as T | undefined });

describe('toServerOptions', () => {
  it('maps the rtk.* settings to the server section, camelCase with nested http', () => {
    expect(
      toServerOptions(
        reader({
          tokenBudget: 8000,
          exclude: ['**/gen/**', ' ', 3, ' vendor/** '],
          maxFileSize: 2048,
          historyDepth: 0,
          planTimeout: 2.5,
          'http.enabled': false,
          'http.port': 8765,
          'episodes.enabled': false,
          'episodes.keepTasks': true,
          'server.command': 'ignored',
        }),
      ),
    ).toEqual({
      tokenBudget: 8000,
      exclude: ['**/gen/**', 'vendor/**'],
      maxFileSize: 2048,
      historyDepth: 0,
      planTimeout: 2.5,
      http: { enabled: false, port: 8765 },
      episodes: { enabled: false, keepTasks: true },
    });
  });

  it('falls back to the defaults for missing or invalid values', () => {
    expect(toServerOptions(reader({}))).toEqual(DEFAULTS);
    expect(
      toServerOptions(
        reader({
          tokenBudget: -5,
          exclude: 'x',
          planTimeout: 0,
          'http.port': 70000,
          historyDepth: '9',
          'episodes.enabled': 'no',
        }),
      ),
    ).toEqual({ ...DEFAULTS, tokenBudget: 1, http: { enabled: false, port: 65535 } });
    expect(DEFAULTS.episodes).toEqual({ enabled: true, keepTasks: false });
  });

  it('keeps the HTTP endpoint off unless enabled (remote windows announce every port)', () => {
    expect(DEFAULTS.http.enabled).toBe(false);
    expect(toServerOptions(reader({ 'http.enabled': true })).http).toEqual({ enabled: true, port: 0 });
  });
});

describe('client settings', () => {
  it('reads command, pythonPath and trace', () => {
    expect(readClientSettings(reader({ 'server.command': ' /x/rtk-lsp ', 'trace.server': 'verbose' }))).toEqual({
      command: '/x/rtk-lsp',
      pythonPath: '',
      trace: 'verbose',
    });
    expect(readClientSettings(reader({ 'trace.server': 'loud' })).trace).toBe('off');
  });

  it('restarts only for the server command settings', () => {
    const affects = (changed: string[]) => (s: string) => changed.some((c) => c === s || c.startsWith(`${s}.`));
    expect(needsRestart(affects(['rtk.server.command']))).toBe(true);
    expect(needsRestart(affects(['rtk.server.pythonPath']))).toBe(true);
    expect(needsRestart(affects(['rtk.tokenBudget']))).toBe(false);
    expect(needsRestart(affects(['rtk.trace.server']))).toBe(false);
  });

  it('resolves ~, ${userHome}, ${workspaceFolder}, ${env:..} and relative paths', () => {
    const vars = { home: '/home/u', workspaceFolder: '/w', env: { VENV: '/venvs/a' } };
    expect(resolvePathSetting('~/bin/rtk-lsp', vars)).toBe('/home/u/bin/rtk-lsp');
    expect(resolvePathSetting('${userHome}/x', vars)).toBe('/home/u/x');
    expect(resolvePathSetting('${workspaceFolder}/.venv/bin/python', vars)).toBe('/w/.venv/bin/python');
    expect(resolvePathSetting('${env:VENV}/bin/python', vars)).toBe('/venvs/a/bin/python');
    expect(resolvePathSetting('.venv/bin/python', vars)).toBe('/w/.venv/bin/python');
    expect(resolvePathSetting('python3', vars)).toBe('python3');
  });
});
