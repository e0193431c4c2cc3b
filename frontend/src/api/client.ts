/**
 * Typed fetch client for the JSON API (docs/INTERFACES.md section 4): the one
 * fetch helper (`request`) and one function per endpoint (`api`). Pages read
 * server data through the TanStack Query hooks in ./queries, built on these.
 *
 * Every write carries the `X-CSRFToken` header read from the `csrftoken`
 * cookie Django sets; every non-2xx answer becomes an `ApiError` carrying the
 * server's `{error: {code, message, node, field}}` body, so pages can show the
 * server's own words and point at the offending node.
 */
import type {
  ApiErrorBody,
  CandidateDetail,
  CandidateSummary,
  EventsPage,
  GraphDocument,
  LayerDetail,
  LayerSaved,
  LayerSummary,
  LayerVersion,
  LayerVersionDetail,
  Me,
  NumericProbe,
  OpRegistry,
  Paged,
  ParetoResult,
  Preset,
  ReferenceLayer,
  SearchCreate,
  SearchDetail,
  SearchEstimate,
  SearchSummary,
  ValidateResult,
} from "./types";
import { normalizeOpRegistry } from "./registry";

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly node: string | null;
  readonly field: string | null;

  constructor(status: number, body: ApiErrorBody) {
    super(body.message || body.code);
    this.name = "ApiError";
    this.status = status;
    this.code = body.code;
    this.node = body.node ?? null;
    this.field = body.field ?? null;
  }
}

/** Reads a cookie by name (the CSRF token lives in `csrftoken`). */
export function getCookie(name: string): string | null {
  if (typeof document === "undefined") return null;
  for (const part of document.cookie ? document.cookie.split(";") : []) {
    const [key, ...rest] = part.trim().split("=");
    if (key === name) return decodeURIComponent(rest.join("="));
  }
  return null;
}

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

export type Query = Record<string, string | number | boolean | null | undefined>;

export function withQuery(path: string, query?: Query): string {
  if (!query) return path;
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined && value !== null && value !== "") params.set(key, String(value));
  }
  const qs = params.toString();
  return qs ? `${path}${path.includes("?") ? "&" : "?"}${qs}` : path;
}

async function errorFrom(response: Response): Promise<ApiError> {
  let body: ApiErrorBody = { code: `http_${response.status}`, message: response.statusText || "Request failed" };
  try {
    const data: unknown = await response.json();
    const err = (data as { error?: ApiErrorBody } | null)?.error;
    if (err && typeof err === "object" && typeof err.code === "string") body = err;
    else if (data && typeof (data as { detail?: unknown }).detail === "string")
      body = { ...body, message: (data as { detail: string }).detail };
  } catch {
    // Not JSON (e.g. a proxy's HTML page): keep the status text.
  }
  return new ApiError(response.status, body);
}

/** Sends one request; resolves with the parsed JSON (or null for 204). */
export async function request<T>(
  method: string,
  path: string,
  body?: unknown,
  init?: { signal?: AbortSignal; query?: Query },
): Promise<T> {
  const headers: Record<string, string> = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (!SAFE_METHODS.has(method.toUpperCase())) {
    const token = getCookie("csrftoken");
    if (token) headers["X-CSRFToken"] = token;
  }
  let response: Response;
  try {
    response = await fetch(withQuery(path, init?.query), {
      method,
      headers,
      credentials: "same-origin",
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: init?.signal,
    });
  } catch (e) {
    if ((e as Error).name === "AbortError") throw e;
    throw new ApiError(0, { code: "network_error", message: "The server could not be reached." });
  }
  if (!response.ok) throw await errorFrom(response);
  if (response.status === 204) return null as T;
  const text = await response.text();
  return (text ? JSON.parse(text) : null) as T;
}

export const get = <T>(path: string, query?: Query, signal?: AbortSignal) =>
  request<T>("GET", path, undefined, { query, signal });
export const post = <T>(path: string, body?: unknown, signal?: AbortSignal) =>
  request<T>("POST", path, body ?? {}, { signal });
export const put = <T>(path: string, body: unknown) => request<T>("PUT", path, body);
export const del = <T = null>(path: string) => request<T>("DELETE", path);

export interface PageQuery {
  page?: number;
  page_size?: number;
}

/** The endpoints, one function each. */
export const api = {
  me: () => get<Me>("/api/me"),
  ops: async (): Promise<OpRegistry> => normalizeOpRegistry(await get<unknown>("/api/ops")),
  referenceLayers: () => get<ReferenceLayer[]>("/api/reference-layers"),
  presets: () => get<Preset[]>("/api/presets"),

  validateLayer: (document: GraphDocument, signal?: AbortSignal) =>
    post<ValidateResult>("/api/layers/validate", { document }, signal),
  numericCheck: (document: GraphDocument) => post<NumericProbe>("/api/layers/numeric-check", { document }),
  listLayers: (query?: PageQuery) => get<Paged<LayerSummary>>("/api/layers", { ...query }),
  createLayer: (name: string, document: GraphDocument) => post<LayerDetail>("/api/layers", { name, document }),
  getLayer: (id: number) => get<LayerDetail>(`/api/layers/${id}`),
  updateLayer: (id: number, name: string, document: GraphDocument) =>
    put<LayerSaved>(`/api/layers/${id}`, { name, document }),
  deleteLayer: (id: number) => del(`/api/layers/${id}`),
  layerVersions: (id: number) => get<LayerVersion[]>(`/api/layers/${id}/versions`),
  layerVersion: (id: number, version: number) =>
    get<LayerVersionDetail>(`/api/layers/${id}/versions/${version}`),
  restoreLayerVersion: (id: number, version: number) =>
    post<LayerSaved>(`/api/layers/${id}/versions/${version}/restore`),
  layerExportUrl: (id: number) => `/api/layers/${id}/export.py`,

  createSearch: (body: SearchCreate) => post<SearchDetail>("/api/searches", body),
  estimateSearch: (body: { preset: string; overrides?: Record<string, unknown> }, signal?: AbortSignal) =>
    post<SearchEstimate>("/api/searches/estimate", body, signal),
  listSearches: (query?: PageQuery) => get<Paged<SearchSummary>>("/api/searches", { ...query }),
  getSearch: (id: number) => get<SearchDetail>(`/api/searches/${id}`),
  controlSearch: (id: number, action: "pause" | "resume" | "stop") =>
    post<SearchDetail>(`/api/searches/${id}/control`, { action }),
  cloneSearch: (id: number, body: { name?: string; budget?: number } = {}) =>
    post<SearchDetail>(`/api/searches/${id}/clone`, body),
  searchCandidates: (
    id: number,
    query?: PageQuery & { status?: string; rejection_reason?: string; ordering?: string },
  ) => get<Paged<CandidateSummary>>(`/api/searches/${id}/candidates`, { ...query }),
  searchPareto: (id: number, query?: { x?: string; y?: string }) =>
    get<ParetoResult>(`/api/searches/${id}/pareto`, { ...query }),
  searchEvents: (id: number, after = 0, limit = 500) =>
    get<EventsPage>(`/api/searches/${id}/events`, { after, limit }),
  /** Every candidate of a search, fetched page by page (oldest first). */
  allCandidates: async (id: number, pageSize = 500, maxPages = 200): Promise<CandidateSummary[]> => {
    const out: CandidateSummary[] = [];
    for (let page = 1; page <= maxPages; page++) {
      const res = await api.searchCandidates(id, { page, page_size: pageSize, ordering: "created" });
      out.push(...res.items);
      if (res.items.length === 0 || out.length >= res.count) break;
    }
    return out;
  },
  searchSocketUrl: (id: number, after = 0) => {
    const proto = window.location.protocol === "https:" ? "wss" : "ws";
    return `${proto}://${window.location.host}/ws/searches/${id}/?after=${after}`;
  },

  getCandidate: (id: number) => get<CandidateDetail>(`/api/candidates/${id}`),
  candidateExportUrl: (id: number) => `/api/candidates/${id}/export.py`,
  candidateBundleUrl: (id: number) => `/api/candidates/${id}/bundle.zip`,
};

/** A short human message for any thrown value (ApiError or otherwise). */
export function errorMessage(e: unknown): string {
  if (e instanceof ApiError) return e.node ? `${e.message} (node ${e.node})` : e.message;
  if (e instanceof Error) return e.message;
  return String(e);
}
