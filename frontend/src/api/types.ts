/**
 * Types of the JSON API (docs/INTERFACES.md section 4) and of the layer graph
 * document (shared GRAPH_FORMAT.md). The server is the truth; these types only
 * describe what it sends so the UI can be checked by the compiler.
 */

/** The four fixed inputs of every layer graph. */
export type InputName = "x" | "zero" | "v0" | "v1";
export const INPUT_NAMES: readonly InputName[] = ["x", "zero", "v0", "v1"];

export interface GraphNode {
  id: string;
  op: string;
  inputs: string[];
  params?: Record<string, number>;
}

/** A `layer-graph/1` document. `ui` is editor-only and opaque to the engine. */
export interface GraphDocument {
  format: "layer-graph/1";
  name?: string;
  eps?: number;
  momentum?: number;
  nodes: GraphNode[];
  output: string;
  ui?: { positions?: Record<string, [number, number]>; [key: string]: unknown };
}

export type Mode = "S" | "B";

/** Body of every 4xx response. */
export interface ApiErrorBody {
  code: string;
  message: string;
  node?: string | null;
  field?: string | null;
}

export interface Paged<T> {
  count: number;
  items: T[];
}

export interface Me {
  username: string;
  id: number;
}

/** One op's parameter, as the registry describes it. */
export interface OpParamSpec {
  type?: string;
  default?: number;
  min?: number;
  max?: number;
  description?: string;
}

/** One entry of the op registry (`GET /api/ops`), normalised by `normalizeOpRegistry`. */
export interface OpSpec {
  name: string;
  arity: number;
  /** "element-wise" | "aggregation" (or whatever group the server names). */
  category: string;
  description: string;
  params: Record<string, OpParamSpec>;
  /** Labels of the input slots, e.g. ["a", "b"]. */
  slots: string[];
  batch?: boolean;
}

export interface InputSpec {
  name: string;
  description: string;
}

export interface OpRegistry {
  inputs: InputSpec[];
  ops: OpSpec[];
}

export interface ReferenceLayer {
  slug: string;
  name: string;
  document: GraphDocument;
  formula: string;
  mode: Mode;
  canonical_hash: string;
}

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

export interface Preset {
  name: string;
  description: string;
  config: SearchConfigJson;
  /** Reference layers the preset suggests as seeds (the launch form ticks them). */
  seed_references?: string[];
}

export interface ValidateResult {
  valid: boolean;
  error: ApiErrorBody | null;
  formula: string | null;
  mode: Mode | null;
  canonical_hash: string | null;
  live_nodes: string[] | null;
  /** Nodes the output does not use (allowed; not computed, not exported). */
  warnings?: Array<{ code: string; node: string | null; message: string }>;
}

/** Result of `POST /api/layers/numeric-check` (the engine's numeric_probe). */
export interface NumericProbe {
  ok: boolean;
  issues: Array<string | Record<string, unknown>>;
  checks: Record<string, unknown> | Array<Record<string, unknown>>;
  [key: string]: unknown;
}

export interface LayerSummary {
  id: number;
  name: string;
  mode: Mode;
  formula: string;
  canonical_hash: string;
  version: number;
  updated_at: string;
}

export interface LayerDetail extends LayerSummary {
  document: GraphDocument;
  created_at: string;
}

/** The answer to a save (PUT) or a restore. */
export interface LayerSaved extends LayerDetail {
  /** Only the layout (`ui`) changed: the newest version took it and no version was added. */
  layout_only: boolean;
}

export interface VersionChange {
  kind: "node_added" | "node_removed" | "op_changed" | "inputs_changed" | "params_changed" | "output_changed" | "renamed" | "setting_changed";
  node: string | null;
  text: string;
}

export interface LayerVersion {
  version: number;
  name: string;
  canonical_hash: string;
  formula: string;
  mode?: Mode;
  created_at: string;
  /** What changed since the version before (none for the first); layout is not compared. */
  changes: { from_version: number | null; same_function: boolean; items: VersionChange[] };
}

export interface LayerVersionDetail extends LayerVersion {
  document: GraphDocument;
}

export type SearchStatus = "queued" | "running" | "paused" | "stopping" | "stopped" | "finished" | "failed";
export type SearchStage = "evolution" | "rerank" | "done";
export type CandidateStatus = "queued" | "running" | "rejected" | "evaluated" | "failed" | "lost" | "cancelled";

export interface CandidateSummary {
  id: number;
  search_id: number;
  canonical_hash: string;
  status: CandidateStatus;
  rejection_reason: string | null;
  scores: Record<string, number>;
  mean_score: number | null;
  mode: Mode;
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
  document: GraphDocument;
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
  mode: Mode;
  counts: Record<string, number>;
  budget: number;
  /** Budget slots the finished candidates spent (the unstable ones give theirs back). */
  budget_spent?: number;
  /** Unstable candidates per budget slot that may give their slot back. */
  unstable_allowance?: number;
  created_at: string;
  best: CandidateSummary | null;
  /** Why the search ended (see SearchDetail.reason). */
  reason?: string | null;
  /** "evolution" (tournaments and mutation) or "random" (the paper's baseline). */
  strategy?: string;
}

export interface SearchDetail extends SearchSummary {
  config: Record<string, unknown>;
  seed: number;
  architectures: string[];
  last_seq: number;
  started_at: string | null;
  finished_at: string | null;
  eta_seconds: number | null;
  throughput_per_minute: number | null;
  active_workers: number;
  rerank: unknown;
  /** Where the search's layers went (INTERFACES section 4); null for a search from before the funnel. */
  funnel?: Record<string, number> | null;
}

export interface SearchCreate {
  name: string;
  preset: string;
  overrides?: Record<string, unknown>;
  seed?: number;
  seed_layer_ids?: number[];
  seed_references?: string[];
}

export interface ParetoResult {
  architectures: string[];
  points: Array<{ id: number; scores: Record<string, number> }>;
  front: number[];
}

/** Event of a search (INTERFACES section 5). `seq` is null for ephemeral progress. */
export interface SearchEvent {
  seq: number | null;
  type: string;
  payload: Record<string, unknown>;
  created_at?: string;
}

/** A stored or ephemeral event of a search, as the searches pages call it. */
export type LabEvent = SearchEvent;

export interface EventsPage {
  events: SearchEvent[];
  last_seq: number;
}

export interface ApiToken {
  id: number;
  name: string;
  created_at?: string;
  secret?: string;
  [key: string]: unknown;
}

/** `POST /api/searches/estimate`: what a search would run at once on this lab, and for how long. */
export interface SearchEstimate {
  capacity: { slots: number; workers: { name: string; slots: number }[] };
  parallel: number;
  at_once: number;
  budget: number;
  cost: {
    seconds: number | null;
    evaluated_seconds: number | null;
    kind: "exact" | "scaled" | "none";
    candidates: number;
    steps_from: number | null;
  };
  evolution_seconds: number | null;
  rerank_seconds: number | null;
  total_seconds: number | null;
}
