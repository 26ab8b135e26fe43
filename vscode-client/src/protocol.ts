/**
 * The rtk-lsp protocol as seen from the client: method names, the shapes of
 * params and results, how requests are built and how results and errors are read.
 *
 * This module does not import `vscode`, so the protocol test drives it directly
 * against the real server over stdio.
 */

export const Methods = {
  planContext: 'rtk/planContext',
  status: 'rtk/status',
  refresh: 'rtk/refresh',
  httpReady: 'rtk/httpReady',
} as const;

export type Detail = 'paths' | 'symbols' | 'content';

export interface PlanParams {
  task: string;
  budget?: number;
  detail?: Detail;
  /** Folder URI. */
  workspace?: string;
  /** URI of the active document. */
  uri?: string;
}

export interface PlanSymbol {
  name: string;
  kind: string;
  /** 1-based, inclusive. */
  start_line: number;
  /** 1-based, inclusive. */
  end_line: number;
  signature: string;
}

export interface SelectedFile {
  rel_path: string;
  score: number;
  estimated_tokens: number;
  features: Record<string, number>;
  sources: string[];
  reasons: string[];
  symbols: PlanSymbol[];
  content?: string;
}

export interface DroppedFile {
  rel_path: string;
  score: number;
  reason: string;
}

export interface RankedFile {
  rel_path: string;
  score: number;
}

export interface Intent {
  kind: string;
  keywords: string[];
  identifiers: string[];
  paths: string[];
  errors: string[];
}

export interface BudgetReport {
  token_budget: number;
  estimated_used: number;
  candidates_total: number;
  candidates_selected: number;
}

export interface Plan {
  task: string;
  root: string;
  intent: Intent;
  selected: SelectedFile[];
  dropped: DroppedFile[];
  ranked: RankedFile[];
  budget_report: BudgetReport;
  context: string;
  stats: Record<string, unknown>;
}

export type FolderState = 'indexing' | 'ready' | 'failed';

export interface FolderStatus {
  uri: string;
  root: string;
  state: FolderState;
  files: number;
  languages: Record<string, number>;
  symbols: number;
  edges: { imports: number; calls: number };
  history: { head: string | null; commits: number };
  last_refresh: string | null;
  cache: { hits: number; misses: number };
  memory_mb: number;
  /** What the server recorded of its plans (null from a server that does not record). */
  episodes: EpisodeStatus | null;
}

/** `rtk-lsp gain`'s figures over the last `days` (a share is null when no event supports it). */
export interface GainFigures {
  plans: number;
  episodes_with_outcomes: number;
  tokens_injected: number;
  tokens_whole_files: number;
  field_recall: number | null;
  field_precision: number | null;
  edited_files: number;
  edited_selected: number;
  selected_observed: number;
  selected_touched: number;
}

export interface EpisodeStatus {
  enabled: boolean;
  days: number;
  gain: GainFigures | null;
  /** Why recording stopped in the server (a full disk, a read-only cache), if it did. */
  error: string | null;
}

export interface ServerStatus {
  version: string;
  http: { url: string } | null;
  folders: FolderStatus[];
}

export interface HttpReady {
  url: string;
  port: number;
}

/** JSON-RPC error codes the server uses. */
export const ErrorCodes = {
  InvalidParams: -32602,
  InternalError: -32603,
  RequestCancelled: -32800,
  ServerCancelled: -32802,
} as const;

/** Builds `rtk/planContext` params, leaving out what is unknown. */
export function buildPlanParams(input: {
  task: string;
  budget?: number;
  detail?: Detail;
  workspace?: string;
  uri?: string;
}): PlanParams {
  const task = input.task.trim();
  if (!task) {
    throw new Error('The task is empty.');
  }
  const params: PlanParams = { task };
  if (input.budget !== undefined && Number.isFinite(input.budget) && input.budget > 0) {
    params.budget = Math.floor(input.budget);
  }
  if (input.detail) {
    params.detail = input.detail;
  }
  if (input.workspace) {
    params.workspace = input.workspace;
  }
  if (input.uri) {
    params.uri = input.uri;
  }
  return params;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function str(value: unknown, fallback = ''): string {
  return typeof value === 'string' ? value : fallback;
}

function num(value: unknown, fallback = 0): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : fallback;
}

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

function list<T>(value: unknown, read: (item: Record<string, unknown>) => T | undefined): T[] {
  if (!Array.isArray(value)) {
    return [];
  }
  const out: T[] = [];
  for (const item of value) {
    if (isObject(item)) {
      const read_ = read(item);
      if (read_ !== undefined) {
        out.push(read_);
      }
    }
  }
  return out;
}

function numberMap(value: unknown): Record<string, number> {
  const out: Record<string, number> = {};
  if (isObject(value)) {
    for (const [key, v] of Object.entries(value)) {
      if (typeof v === 'number' && Number.isFinite(v)) {
        out[key] = v;
      }
    }
  }
  return out;
}

function readSymbol(item: Record<string, unknown>): PlanSymbol | undefined {
  const name = str(item.name);
  if (!name) {
    return undefined;
  }
  const start = Math.max(1, Math.floor(num(item.start_line, 1)));
  const end = Math.max(start, Math.floor(num(item.end_line, start)));
  return { name, kind: str(item.kind), start_line: start, end_line: end, signature: str(item.signature) };
}

/**
 * Reads an `rtk/planContext` result. Missing lists become empty and unknown keys
 * are ignored, so a newer server does not break an older client. Throws when
 * the result is not a plan at all.
 */
export function parsePlan(result: unknown): Plan {
  if (!isObject(result)) {
    throw new Error('The server returned no plan.');
  }
  const intent = isObject(result.intent) ? result.intent : {};
  const report = isObject(result.budget_report) ? result.budget_report : {};
  const selected = list<SelectedFile>(result.selected, (f) => {
    const relPath = str(f.rel_path);
    if (!relPath) {
      return undefined;
    }
    const file: SelectedFile = {
      rel_path: relPath,
      score: num(f.score),
      estimated_tokens: num(f.estimated_tokens),
      features: numberMap(f.features),
      sources: strings(f.sources),
      reasons: strings(f.reasons),
      symbols: list(f.symbols, readSymbol),
    };
    if (typeof f.content === 'string') {
      file.content = f.content;
    }
    return file;
  });
  return {
    task: str(result.task),
    root: str(result.root),
    intent: {
      kind: str(intent.kind),
      keywords: strings(intent.keywords),
      identifiers: strings(intent.identifiers),
      paths: strings(intent.paths),
      errors: strings(intent.errors),
    },
    selected,
    dropped: list(result.dropped, (f) =>
      str(f.rel_path) ? { rel_path: str(f.rel_path), score: num(f.score), reason: str(f.reason) } : undefined,
    ),
    ranked: list(result.ranked, (f) =>
      str(f.rel_path) ? { rel_path: str(f.rel_path), score: num(f.score) } : undefined,
    ),
    budget_report: {
      token_budget: num(report.token_budget),
      estimated_used: num(report.estimated_used),
      candidates_total: num(report.candidates_total),
      candidates_selected: num(report.candidates_selected, selected.length),
    },
    context: str(result.context),
    stats: isObject(result.stats) ? result.stats : {},
  };
}

/** Ranked files that did not make it into the plan, best first. */
export function notFitting(plan: Plan): DroppedFile[] {
  if (plan.dropped.length > 0) {
    return plan.dropped;
  }
  const chosen = new Set(plan.selected.map((f) => f.rel_path));
  return plan.ranked
    .filter((f) => !chosen.has(f.rel_path))
    .map((f) => ({ rel_path: f.rel_path, score: f.score, reason: 'did not fit the budget' }));
}

function readFolder(item: Record<string, unknown>): FolderStatus | undefined {
  const state = str(item.state);
  const edges = isObject(item.edges) ? item.edges : {};
  const history = isObject(item.history) ? item.history : {};
  const cache = isObject(item.cache) ? item.cache : {};
  return {
    uri: str(item.uri),
    root: str(item.root),
    state: state === 'indexing' || state === 'ready' || state === 'failed' ? state : 'indexing',
    files: num(item.files),
    languages: numberMap(item.languages),
    symbols: num(item.symbols),
    edges: { imports: num(edges.imports), calls: num(edges.calls) },
    history: { head: typeof history.head === 'string' ? history.head : null, commits: num(history.commits) },
    last_refresh: typeof item.last_refresh === 'string' ? item.last_refresh : null,
    cache: { hits: num(cache.hits), misses: num(cache.misses) },
    memory_mb: num(item.memory_mb),
    episodes: isObject(item.episodes) ? readEpisodes(item.episodes) : null,
  };
}

function share(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

function readEpisodes(item: Record<string, unknown>): EpisodeStatus {
  const g = isObject(item.gain) ? item.gain : undefined;
  return {
    enabled: item.enabled !== false,
    days: num(item.days, 7),
    error: typeof item.error === 'string' ? item.error : null,
    gain: g
      ? {
          plans: num(g.plans),
          episodes_with_outcomes: num(g.episodes_with_outcomes),
          tokens_injected: num(g.tokens_injected),
          tokens_whole_files: num(g.tokens_whole_files),
          field_recall: share(g.field_recall),
          field_precision: share(g.field_precision),
          edited_files: num(g.edited_files),
          edited_selected: num(g.edited_selected),
          selected_observed: num(g.selected_observed),
          selected_touched: num(g.selected_touched),
        }
      : null,
  };
}

/** Reads an `rtk/status` result. */
export function parseStatus(result: unknown): ServerStatus {
  if (!isObject(result)) {
    throw new Error('The server returned no status.');
  }
  const http = isObject(result.http) && typeof result.http.url === 'string' ? { url: result.http.url } : null;
  return { version: str(result.version), http, folders: list(result.folders, readFolder) };
}

/** Reads an `rtk/refresh` result (one folder's status entry). */
export function parseFolderStatus(result: unknown): FolderStatus {
  if (!isObject(result)) {
    throw new Error('The server returned no folder status.');
  }
  return readFolder(result) as FolderStatus;
}

export type StatusSummary =
  | { kind: 'empty' }
  | { kind: 'indexing'; files: number; folders: number }
  | { kind: 'ready'; files: number }
  | { kind: 'failed'; files: number; failed: string[] };

/** What the status bar says about a status answer. */
export function summarizeStatus(status: ServerStatus): StatusSummary {
  if (status.folders.length === 0) {
    return { kind: 'empty' };
  }
  const files = status.folders.reduce((sum, f) => sum + f.files, 0);
  const indexing = status.folders.filter((f) => f.state === 'indexing').length;
  if (indexing > 0) {
    return { kind: 'indexing', files, folders: indexing };
  }
  const failed = status.folders.filter((f) => f.state === 'failed').map((f) => f.root || f.uri);
  if (failed.length > 0) {
    return { kind: 'failed', files, failed };
  }
  return { kind: 'ready', files };
}

export type PlanErrorKind = 'cancelled' | 'indexing' | 'invalidParams' | 'failed';

export interface PlanError {
  kind: PlanErrorKind;
  message: string;
}

/** Classifies an error from `rtk/planContext` (a JSON-RPC ResponseError or anything thrown). */
export function classifyPlanError(error: unknown): PlanError {
  const code = isObject(error) && typeof error.code === 'number' ? error.code : undefined;
  const raw = error instanceof Error ? error.message : isObject(error) ? str(error.message) : String(error);
  const message = raw.trim() || 'Unknown error.';
  if (code === ErrorCodes.RequestCancelled || code === ErrorCodes.ServerCancelled) {
    return { kind: 'cancelled', message };
  }
  if (/still indexing/i.test(message)) {
    return { kind: 'indexing', message };
  }
  if (code === ErrorCodes.InvalidParams) {
    return { kind: 'invalidParams', message };
  }
  return { kind: 'failed', message };
}
