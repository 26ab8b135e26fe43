import { describe, expect, it } from 'vitest';
import { type ProbeHost, chooseLaunch, launchCandidates, notFoundMessage } from '../../src/launch';

const settings = (command = '', pythonPath = '') => ({ command, pythonPath, trace: 'off' as const });

function host(executables: Record<string, string>, imports: Record<string, boolean> = {}): ProbeHost & { ran: string[][] } {
  const ran: string[][] = [];
  return {
    ran,
    which: (c) => executables[c],
    run: async (command, args) => {
      ran.push([command, ...args]);
      return imports[command] ? { code: 0, stderr: '' } : { code: 1, stderr: "ModuleNotFoundError: No module named 'rtk_lsp'" };
    },
  };
}

describe('launchCandidates', () => {
  it('defaults to rtk-lsp on PATH', () => {
    expect(launchCandidates(settings())).toEqual([{ source: 'default', command: 'rtk-lsp', args: ['lsp'] }]);
  });

  it('tries pythonPath before the default, and an explicit command alone first', () => {
    expect(launchCandidates(settings('', '/venv/bin/python')).map((c) => c.source)).toEqual(['pythonPath', 'default']);
    expect(launchCandidates(settings('', '/venv/bin/python'))[0].args).toEqual(['-m', 'rtk_lsp', 'lsp']);
    expect(launchCandidates(settings('/opt/rtk-lsp', '/venv/bin/python')).map((c) => c.source)).toEqual([
      'command',
      'pythonPath',
    ]);
  });
});

describe('the private install', () => {
  it('comes last, and only without an explicit command', () => {
    const managed = '/storage/venv/bin/rtk-lsp';
    expect(launchCandidates(settings('', '/venv/bin/python'), { managed }).map((c) => c.source)).toEqual([
      'pythonPath',
      'default',
      'managed',
    ]);
    expect(launchCandidates(settings('/opt/rtk-lsp'), { managed }).map((c) => c.source)).toEqual(['command']);
  });

  it('names a private install that went missing', async () => {
    const choice = await chooseLaunch(launchCandidates(settings(), { managed: '/gone/bin/rtk-lsp' }), host({}));
    expect(notFoundMessage(choice.failures)).toContain(
      'the rtk-lsp that "RTK: Install rtk-lsp" installed (`/gone/bin/rtk-lsp`) is missing',
    );
  });
});

describe('chooseLaunch', () => {
  it('picks rtk-lsp from PATH', async () => {
    const choice = await chooseLaunch(launchCandidates(settings()), host({ 'rtk-lsp': '/usr/local/bin/rtk-lsp' }));
    expect(choice.found).toEqual({ source: 'default', command: '/usr/local/bin/rtk-lsp', args: ['lsp'] });
  });

  it('checks that pythonPath can import rtk_lsp, and falls back to PATH', async () => {
    const h = host({ '/venv/bin/python': '/venv/bin/python', 'rtk-lsp': '/usr/bin/rtk-lsp' });
    const choice = await chooseLaunch(launchCandidates(settings('', '/venv/bin/python')), h);
    expect(h.ran).toEqual([['/venv/bin/python', '-c', 'import rtk_lsp']]);
    expect(choice.found?.command).toBe('/usr/bin/rtk-lsp');
    expect(choice.failures[0].reason).toMatch(/cannot import rtk_lsp \(ModuleNotFoundError/);
  });

  it('uses pythonPath when it works', async () => {
    const h = host({ '/venv/bin/python': '/venv/bin/python' }, { '/venv/bin/python': true });
    const choice = await chooseLaunch(launchCandidates(settings('', '/venv/bin/python')), h);
    expect(choice.found).toEqual({ source: 'pythonPath', command: '/venv/bin/python', args: ['-m', 'rtk_lsp', 'lsp'] });
  });

  it('gives one message naming both fixes when nothing works', async () => {
    const choice = await chooseLaunch(launchCandidates(settings()), host({}));
    expect(choice.found).toBeUndefined();
    const text = notFoundMessage(choice.failures);
    expect(text).toContain('`rtk-lsp` was not found on PATH');
    expect(text).not.toContain('pip install'); // rtk-lsp is not on PyPI
    expect(text).toContain('"Install rtk-lsp"');
    expect(text).toContain('rtk.server.command');
    expect(text).toContain('rtk.server.pythonPath');
  });

  it('reports a configured command that does not exist', async () => {
    const choice = await chooseLaunch(launchCandidates(settings('/nope/rtk-lsp')), host({}));
    expect(notFoundMessage(choice.failures)).toContain('`/nope/rtk-lsp` (rtk.server.command) does not exist');
  });
});
