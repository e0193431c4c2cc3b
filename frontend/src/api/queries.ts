/**
 * Server data for the pages: TanStack Query hooks over the one fetch helper
 * (./client). Each query key starts with the resource it reads, so a write
 * invalidates what it changed ("layers", "searches", "candidates"). The live
 * event stream of a search is not here: searches/stream.ts orders its events.
 */
import {
  keepPreviousData,
  QueryClient,
  useMutation,
  useQueries,
  useQuery,
  useQueryClient,
} from "@tanstack/react-query";
import { useEffect, useState } from "react";
import { api, type PageQuery } from "./client";
import type { CandidateDetail, GraphDocument, LayerDetail, LayerSaved, SearchCreate } from "./types";

/** The app's client: no retries and no refetch on focus, as the hand-written fetches behaved. */
export function createQueryClient(): QueryClient {
  return new QueryClient({
    defaultOptions: {
      queries: { retry: false, refetchOnWindowFocus: false, staleTime: 0 },
      mutations: { retry: false },
    },
  });
}

export const keys = {
  me: ["me"] as const,
  ops: ["ops"] as const,
  referenceLayers: ["reference-layers"] as const,
  presets: ["presets"] as const,
  layers: (query?: PageQuery) => ["layers", "list", query ?? {}] as const,
  layerVersions: (id: number, currentVersion: number) => ["layers", id, "versions", currentVersion] as const,
  layerVersion: (id: number, version: number) => ["layers", id, "version", version] as const,
  searches: (query: PageQuery) => ["searches", "list", query] as const,
  candidate: (id: number) => ["candidates", id] as const,
  estimate: (body: string) => ["estimate", body] as const,
  validate: (key: string) => ["validate", key] as const,
};

// --- reads -------------------------------------------------------------------------------

export const useMe = () => useQuery({ queryKey: keys.me, queryFn: api.me });

/** The op registry; the editor falls back to its built-in table while it loads or fails. */
export const useOps = () => useQuery({ queryKey: keys.ops, queryFn: api.ops, staleTime: Infinity });

export const useReferenceLayers = () =>
  useQuery({ queryKey: keys.referenceLayers, queryFn: api.referenceLayers, staleTime: Infinity });

export const usePresets = () => useQuery({ queryKey: keys.presets, queryFn: api.presets, staleTime: Infinity });

export const useLayers = (query: PageQuery) =>
  useQuery({ queryKey: keys.layers(query), queryFn: () => api.listLayers(query), placeholderData: keepPreviousData });

/** A layer's versions; read again whenever the current version moves. */
export const useLayerVersions = (id: number, currentVersion: number) =>
  useQuery({ queryKey: keys.layerVersions(id, currentVersion), queryFn: () => api.layerVersions(id) });

/** The searches list, polled while open: statuses move. */
export const useSearches = (query: PageQuery, pollMs = 5000) =>
  useQuery({
    queryKey: keys.searches(query),
    queryFn: () => api.listSearches(query),
    refetchInterval: pollMs,
    placeholderData: keepPreviousData,
  });

const UNFINISHED = new Set(["queued", "running"]);

/** One candidate, polled every 3 s while it is still queued or running. */
export const useCandidate = (id: number, enabled = true) =>
  useQuery({
    queryKey: keys.candidate(id),
    queryFn: () => api.getCandidate(id),
    enabled,
    refetchInterval: (q) => (q.state.data && UNFINISHED.has(q.state.data.status) ? 3000 : false),
  });

function allOrError<T>(results: Array<{ data?: T; error: Error | null }>) {
  return {
    data: results.every((r) => r.data) ? results.map((r) => r.data as T) : undefined,
    error: results.find((r) => r.error)?.error ?? null,
  };
}

/** Several candidates at once: the data when all arrived, else the first error. */
export function useCandidates(ids: number[]) {
  return useQueries({
    queries: ids.map((id) => ({ queryKey: keys.candidate(id), queryFn: () => api.getCandidate(id) })),
    combine: allOrError<CandidateDetail>,
  });
}

/** `value`, once it has stayed the same for `ms`. */
export function useDebounced<T>(value: T, ms: number): T {
  const [settled, setSettled] = useState(value);
  useEffect(() => {
    const t = window.setTimeout(() => setSettled(value), ms);
    return () => window.clearTimeout(t);
  }, [value, ms]);
  return settled;
}

/**
 * The server's estimate for a search body (JSON), asked 400 ms after the last
 * change; the last answer stays while the next is on its way; null without a body.
 */
export function useSearchEstimate(body: string | null) {
  const settled = useDebounced(body, 400);
  const q = useQuery({
    queryKey: keys.estimate(settled ?? ""),
    queryFn: ({ signal }) => api.estimateSearch(JSON.parse(settled!), signal),
    enabled: body !== null && settled !== null,
    placeholderData: keepPreviousData,
  });
  return body === null || q.isError ? null : (q.data ?? null);
}

/**
 * The server's verdict on a document (semantic key: its JSON without `ui`),
 * asked `delayMs` after the last change; an older request is cancelled (its
 * answer never overwrites a newer one) and the last verdict stays meanwhile.
 */
export function useValidation(key: string, delayMs = 300) {
  const settled = useDebounced(key, delayMs);
  const q = useQuery({
    queryKey: keys.validate(settled),
    queryFn: async ({ signal }) => ({
      forKey: settled,
      result: await api.validateLayer(JSON.parse(settled) as GraphDocument, signal),
    }),
    placeholderData: keepPreviousData,
    gcTime: 60_000,
  });
  return { data: q.data, error: q.error, isPlaceholderData: q.isPlaceholderData, asked: settled };
}

// --- writes ------------------------------------------------------------------------------

export function useDeleteLayer() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (id: number) => api.deleteLayer(id),
    onSuccess: () => qc.invalidateQueries({ queryKey: ["layers"] }),
  });
}

/** Saves a new layer (no id) or a new version of one. */
export function useSaveLayer() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: ({ id, name, document }: { id: number | null; name: string; document: GraphDocument }): Promise<LayerDetail | LayerSaved> =>
      id === null ? api.createLayer(name, document) : api.updateLayer(id, name, document),
    onSuccess: () => qc.invalidateQueries({ queryKey: ["layers"] }),
  });
}

export function useRestoreVersion(layerId: number) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (version: number) => api.restoreLayerVersion(layerId, version),
    onSuccess: () => qc.invalidateQueries({ queryKey: ["layers"] }),
  });
}

export const useNumericCheck = () => useMutation({ mutationFn: (document: GraphDocument) => api.numericCheck(document) });

export function useCreateSearch() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (body: SearchCreate) => api.createSearch(body),
    onSuccess: () => qc.invalidateQueries({ queryKey: ["searches"] }),
  });
}

export function useControlSearch(id: number) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (action: "pause" | "resume" | "stop") => api.controlSearch(id, action),
    onSuccess: () => qc.invalidateQueries({ queryKey: ["searches"] }),
  });
}

export function useCloneSearch(id: number) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (body: { name?: string; budget?: number }) => api.cloneSearch(id, body),
    onSuccess: () => qc.invalidateQueries({ queryKey: ["searches"] }),
  });
}
