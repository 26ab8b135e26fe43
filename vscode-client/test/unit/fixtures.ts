/** Server answers shaped like the protocol, for unit tests. */
export const ROOT = '/tmp/rtk-fixture';

export function samplePlan(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    task: 'fix the discount rounding in InvoiceCalculator.apply_discount',
    root: ROOT,
    intent: {
      kind: 'bugfix',
      keywords: ['discount', 'rounding'],
      identifiers: ['InvoiceCalculator', 'apply_discount'],
      paths: [],
      errors: [],
    },
    selected: [
      {
        rel_path: 'src/billing/invoice.py',
        score: 0.9123,
        estimated_tokens: 412,
        features: { lexical: 0.8, symbol: 1 },
        sources: ['symbol', 'lexical'],
        reasons: ['defines InvoiceCalculator.apply_discount', 'mentions "discount" 6 times'],
        symbols: [
          { name: 'InvoiceCalculator', kind: 'class', start_line: 4, end_line: 30, signature: 'class InvoiceCalculator:' },
          {
            name: 'apply_discount',
            kind: 'method',
            start_line: 12,
            end_line: 20,
            signature: 'def apply_discount(self, amount, percent):',
          },
        ],
      },
      {
        rel_path: 'tests/test_invoice.py',
        score: 0.5,
        estimated_tokens: 1200,
        features: {},
        sources: ['graph'],
        reasons: ['imports src/billing/invoice.py'],
        symbols: [],
        unknown_key: 'ignored',
      },
    ],
    dropped: [{ rel_path: 'src/users/profile.py', score: 0.12, reason: 'over budget by 300 tokens' }],
    ranked: [
      { rel_path: 'src/billing/invoice.py', score: 0.9123 },
      { rel_path: 'tests/test_invoice.py', score: 0.5 },
      { rel_path: 'src/users/profile.py', score: 0.12 },
    ],
    budget_report: { token_budget: 4000, estimated_used: 1612, candidates_total: 5, candidates_selected: 2 },
    context: '# Context\n\n## src/billing/invoice.py\n```python\nclass InvoiceCalculator: ...\n```\n',
    stats: { elapsed_ms: 12 },
    ...overrides,
  };
}

export function sampleStatus(state: 'indexing' | 'ready' | 'failed' = 'ready'): Record<string, unknown> {
  return {
    version: '0.1.0',
    http: { url: 'http://127.0.0.1:43210' },
    folders: [
      {
        uri: `file://${ROOT}`,
        root: ROOT,
        state,
        files: 5,
        languages: { python: 4, markdown: 1 },
        symbols: 12,
        edges: { imports: 3, calls: 7 },
        history: { head: '0123456789abcdef0123', commits: 2 },
        last_refresh: '2026-11-26T22:00:00Z',
        cache: { hits: 1, misses: 4 },
        memory_mb: 31.5,
      },
    ],
  };
}
