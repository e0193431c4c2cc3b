// Typed client for the search endpoints of the JSON API (docs/INTERFACES.md
// sections 4 and 5). Self-contained so the searches pages do not depend on
// the shape of the shared client; the types follow the contract exactly.

export type SearchStatus = "queued" | "running" | "paused" | "stopping" | "finished" | "failed";
export type SearchStage = "evolution" | "rerank" | "done";
export type CandidateStatus = "queued" | "running" | "rejected" | "evaluated" | "failed" | "lost";

export interface SearchCounts {
  [status: string]: number;
}

export interface CandidateSummary {
  id: number;
  search_id: number;
  canonical_hash: string;
  status: CandidateStatus;
  rejection_reason: string | null;
  scores: Record<string, number>;
  mean_score: number | null;
  mode: string;
  formula: string;
  parent_id: number | null;
  mutation: string;
  attempts: number;
  worker: string | null;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
}

export interface CurvePoint {
  step: number;
  loss: number | null;
  accuracy: number | null;
}

export interface CandidateDetail extends CandidateSummary {
  document: Record<string, unknown>;
  curves: Record<string, CurvePoint[]>;
  timings: Record<string, number>;
  message: string;
  lineage: CandidateSummary[];
}

export interface SearchSummary {
  id: number;
  name: string;
  status: SearchStatus;
  stage: SearchStage;
  preset: string;
  mode: string;
  counts: SearchCounts;
  budget: number;
  created_at: string;
  best: CandidateSummary | { id: number; mean_score?: number | null; formula?: string } | null;
}

export interface SearchDetail extends SearchSummary {
  config: SearchConfigJson;
  seed: number;
  architectures: string[];
  last_seq: number;
  started_at: string | null;
  finished_at: string | null;
  eta_seconds: number | null;
  throughput_per_minute: number | null;
  active_workers: number | null;
  rerank: unknown;
}

export interface EvalConfigJson {
  dataset: string;
  architectures: string[];
  steps: number;
  [key: string]: unknown;
}

export interface SearchConfigJson {
  mode: string;
  population_size: number;
  tournament_size: number;
  budget: number;
  eval: EvalConfigJson;
  [key: string]: unknown;
}

export interface Preset {
  name: string;
  description: string;
  config: SearchConfigJson;
}

export interface LayerSummary {
  id: number;
  name: string;
  mode: string;
  formula: string;
  canonical_hash: string;
  version: number;
  updated_at: string;
}

export interface ReferenceLayer {
  slug: string;
  name: string;
  formula: string;
  mode: string;
  canonical_hash: string;
  document: Record<string, unknown>;
}

export interface Paged<T> {
  count: number;
  items: T[];
}

export interface LabEvent {
  seq: number | null;
  type: string;
  payload: Record<string, unknown>;
  created_at?: string;
}

export interface ApiErrorBody {
  code: string;
  message: string;
  node: string | null;
  field: string | null;
}

/** A non-2xx answer of the API, carrying the contract's error body. */
export class SearchApiError extends Error {
  status: number;
  body: ApiErrorBody;
  constructor(status: number, body: ApiErrorBody) {
    super(body.message || `HTTP ${status}`);
    this.status = status;
    this.body = body;
  }
}

function csrfToken(): string {
  const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  return match ? decodeURIComponent(match[1]) : "";
}

async function request<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET") headers["X-CSRFToken"] = csrfToken();
  const response = await fetch(path, {
    method,
    headers,
    credentials: "same-origin",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (response.status === 204) return undefined as T;
  let data: unknown = null;
  try {
    data = await response.json();
  } catch {
    data = null;
  }
  if (!response.ok) {
    const err = (data as { error?: ApiErrorBody } | null)?.error;
    throw new SearchApiError(
      response.status,
      err ?? { code: "http_error", message: `HTTP ${response.status}`, node: null, field: null },
    );
  }
  return data as T;
}

function query(params: Record<string, string | number | undefined | null>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== "") q.set(k, String(v));
  }
  const s = q.toString();
  return s ? `?${s}` : "";
}

export interface CreateSearchBody {
  name: string;
  preset: string;
  overrides: Record<string, unknown>;
  seed: number | null;
  seed_layer_ids: number[];
  seed_references: string[];
}

export const searchesApi = {
  presets: () => request<Preset[]>("GET", "/api/presets"),
  layers: (page = 1, pageSize = 200) =>
    request<Paged<LayerSummary>>("GET", `/api/layers${query({ page, page_size: pageSize })}`),
  referenceLayers: () => request<ReferenceLayer[]>("GET", "/api/reference-layers"),
  list: (page = 1, pageSize = 50) =>
    request<Paged<SearchSummary>>("GET", `/api/searches${query({ page, page_size: pageSize })}`),
  create: (body: CreateSearchBody) => request<SearchDetail>("POST", "/api/searches", body),
  detail: (id: number) => request<SearchDetail>("GET", `/api/searches/${id}`),
  control: (id: number, action: "pause" | "resume" | "stop") =>
    request<SearchDetail>("POST", `/api/searches/${id}/control`, { action }),
  clone: (id: number, body: { name?: string; budget?: number } = {}) =>
    request<SearchDetail>("POST", `/api/searches/${id}/clone`, body),
  candidates: (
    id: number,
    params: { page?: number; page_size?: number; status?: string; ordering?: string } = {},
  ) => request<Paged<CandidateSummary>>("GET", `/api/searches/${id}/candidates${query(params)}`),
  events: (id: number, after: number, limit = 500) =>
    request<{ events: LabEvent[]; last_seq: number }>(
      "GET",
      `/api/searches/${id}/events${query({ after, limit })}`,
    ),
  candidate: (id: number) => request<CandidateDetail>("GET", `/api/candidates/${id}`),
};

/** Every candidate of a search, fetched page by page (oldest first). */
export async function fetchAllCandidates(
  id: number,
  pageSize = 500,
  maxPages = 100,
): Promise<CandidateSummary[]> {
  const out: CandidateSummary[] = [];
  for (let page = 1; page <= maxPages; page++) {
    const res = await searchesApi.candidates(id, { page, page_size: pageSize, ordering: "created" });
    out.push(...res.items);
    if (res.items.length === 0 || out.length >= res.count) break;
  }
  return out;
}

export function candidateExportUrl(id: number): string {
  return `/api/candidates/${id}/export.py`;
}

export function candidateBundleUrl(id: number): string {
  return `/api/candidates/${id}/bundle.zip`;
}

export function searchSocketUrl(id: number, after: number): string {
  const proto = window.location.protocol === "https:" ? "wss:" : "ws:";
  return `${proto}//${window.location.host}/ws/searches/${id}/?after=${after}`;
}
