// Search-specific helpers on top of the shared client (./client, ./types):
// the typed shape of a preset's config the launch form edits, paging through
// every candidate of a search, and short aliases the searches pages use.

import { api } from "./client";
import type { CandidateSummary, SearchEvent } from "./types";

export type {
  CandidateDetail,
  CandidateStatus,
  CandidateSummary,
  CurvePoint,
  LayerSummary,
  Paged,
  ReferenceLayer,
  SearchCreate,
  SearchDetail,
  SearchStatus,
  SearchSummary,
} from "./types";
export { ApiError, errorMessage } from "./client";

/** A stored or ephemeral event of a search (INTERFACES section 5). */
export type LabEvent = SearchEvent;

/** The parts of SearchConfig.to_dict() the launch form edits. */
export interface EvalConfigJson {
  dataset?: string;
  architectures?: string[];
  steps?: number;
  [key: string]: unknown;
}

export interface SearchConfigJson {
  mode?: string;
  population_size?: number;
  tournament_size?: number;
  budget?: number;
  eval?: EvalConfigJson;
  [key: string]: unknown;
}

export interface PresetJson {
  name: string;
  description: string;
  config: SearchConfigJson;
}

export const searchesApi = {
  presets: async () => (await api.presets()) as PresetJson[],
  layers: () => api.listLayers({ page: 1, page_size: 200 }),
  referenceLayers: api.referenceLayers,
  list: (page = 1, pageSize = 50) => api.listSearches({ page, page_size: pageSize }),
  create: api.createSearch,
  estimate: api.estimateSearch,
  detail: api.getSearch,
  control: api.controlSearch,
  clone: api.cloneSearch,
  candidates: api.searchCandidates,
  events: (id: number, after: number) => api.searchEvents(id, after, 500),
  candidate: api.getCandidate,
};

/** Every candidate of a search, fetched page by page (oldest first). */
export async function fetchAllCandidates(
  id: number,
  pageSize = 500,
  maxPages = 200,
): Promise<CandidateSummary[]> {
  const out: CandidateSummary[] = [];
  for (let page = 1; page <= maxPages; page++) {
    const res = await api.searchCandidates(id, { page, page_size: pageSize, ordering: "created" });
    out.push(...res.items);
    if (res.items.length === 0 || out.length >= res.count) break;
  }
  return out;
}

export const candidateExportUrl = api.candidateExportUrl;
export const candidateBundleUrl = api.candidateBundleUrl;
export const searchSocketUrl = api.searchSocketUrl;
