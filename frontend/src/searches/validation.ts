/**
 * Client-side checks of the launch form, so obvious mistakes are shown next
 * to their field before anything is sent. The server re-validates everything.
 */

import type { SearchConfigJson } from "../api/types";

export const ARCHITECTURES = ["resnet50", "mobilenetv2", "efficientnet_b0"] as const;
export const DATASETS = ["synthetic", "digits", "cifar10"] as const;
export const STRATEGIES = ["evolution", "random"] as const;

export interface LaunchFormValues {
  name: string;
  preset: string;
  mode: string;
  /** "evolution" or "random" (SearchConfig.strategy). */
  strategy: string;
  population_size: string;
  tournament_size: string;
  budget: string;
  steps: string;
  dataset: string;
  architectures: string[];
  seed: string;
  seed_layer_ids: number[];
  seed_references: string[];
  /** Optional JSON object of further overrides (the to_dict() shape). */
  advanced: string;
}

export type FieldErrors = Partial<Record<string, string>>;

const LIMITS = {
  population_size: [2, 100_000],
  tournament_size: [1, 100_000],
  budget: [1, 10_000_000],
  steps: [1, 10_000_000],
  seed: [0, 2 ** 31 - 1],
} as const;

function parseIntStrict(s: string): number | null {
  const t = s.trim();
  if (!/^-?\d+$/.test(t)) return null;
  const n = Number(t);
  return Number.isSafeInteger(n) ? n : null;
}

function checkInt(
  errors: FieldErrors,
  field: keyof typeof LIMITS,
  raw: string,
  label: string,
): number | null {
  const n = parseIntStrict(raw);
  const [lo, hi] = LIMITS[field];
  if (n === null) {
    errors[field] = `${label} must be a whole number.`;
    return null;
  }
  if (n < lo || n > hi) {
    errors[field] = `${label} must be between ${lo} and ${hi.toLocaleString("en-US")}.`;
    return null;
  }
  return n;
}

/**
 * Field errors for the form; `preset` (the chosen preset's config) adds the
 * checks that depend on it, like steps not below the quality gate's steps.
 */
export function validateLaunch(v: LaunchFormValues, preset?: SearchConfigJson): FieldErrors {
  const errors: FieldErrors = {};
  try {
    parseAdvanced(v.advanced);
  } catch (e) {
    errors.advanced = (e as Error).message;
  }
  if (!v.preset) errors.preset = "Choose a preset.";
  if (!v.name.trim()) errors.name = "Give the search a name.";
  else if (v.name.length > 100) errors.name = "Names are at most 100 characters.";
  if (v.mode !== "B" && v.mode !== "S") errors.mode = "Mode is B or S.";
  if (!(STRATEGIES as readonly string[]).includes(v.strategy)) errors.strategy = "Strategy is evolution or random.";
  const pop = checkInt(errors, "population_size", v.population_size, "Population");
  const tour = checkInt(errors, "tournament_size", v.tournament_size, "Tournament size");
  if (pop !== null && tour !== null && tour > pop) {
    errors.tournament_size = "Tournament size cannot exceed the population.";
  }
  checkInt(errors, "budget", v.budget, "Budget");
  const steps = checkInt(errors, "steps", v.steps, "Training steps");
  const gate = qualityGateSteps(v.advanced, preset);
  if (steps !== null && typeof gate === "number" && steps < gate) {
    errors.steps = `Training steps must be at least ${gate} (the quality-gate steps).`;
  }
  if (v.seed.trim() !== "") checkInt(errors, "seed", v.seed, "Seed");
  if (v.architectures.length === 0) errors.architectures = "Choose at least one architecture.";
  if (!v.dataset) errors.dataset = "Choose a data set.";
  return errors;
}

/**
 * Steps at the quality gate for the search the form describes: the advanced
 * overrides' `eval.quality_steps` when they set it, else the preset's.
 * Unreadable overrides fall back to the preset (their own error is shown).
 */
export function qualityGateSteps(advancedText: string, preset?: SearchConfigJson): number | undefined {
  let advanced: Record<string, unknown> = {};
  try {
    advanced = parseAdvanced(advancedText);
  } catch {
    /* the advanced field reports its own error */
  }
  const advEval = advanced.eval as Record<string, unknown> | undefined;
  if (typeof advEval?.quality_steps === "number") return advEval.quality_steps;
  const own = preset?.eval?.quality_steps;
  return typeof own === "number" ? own : undefined;
}

/** Form values prefilled from a preset's configuration. */
export function valuesFromPreset(
  preset: { name: string; config: SearchConfigJson },
  keep?: Pick<LaunchFormValues, "name" | "seed" | "seed_layer_ids" | "seed_references"> & { advanced?: string },
): LaunchFormValues {
  const c = preset.config;
  return {
    name: keep?.name ?? "",
    preset: preset.name,
    mode: String(c.mode ?? "S"),
    strategy: String(c.strategy ?? "evolution"),
    population_size: String(c.population_size ?? ""),
    tournament_size: String(c.tournament_size ?? ""),
    budget: String(c.budget ?? ""),
    steps: String(c.eval?.steps ?? ""),
    dataset: String(c.eval?.dataset ?? ""),
    architectures: [...(c.eval?.architectures ?? [])],
    seed: keep?.seed ?? "",
    seed_layer_ids: keep?.seed_layer_ids ?? [],
    seed_references: keep?.seed_references ?? [],
    advanced: keep?.advanced ?? "",
  };
}

/**
 * The reference seeds after switching presets: the old preset's suggested
 * seeds (`from`) give way to the new one's (`to`); seeds the user ticked
 * themselves stay. Order: kept ones first, then the new suggestions.
 */
export function switchSuggestedSeeds(current: readonly string[], from: readonly string[], to: readonly string[]): string[] {
  const kept = current.filter((s) => !from.includes(s));
  return [...kept, ...to.filter((s) => !kept.includes(s))];
}

/** The advanced-overrides text as an object ("" is {}); throws a readable error. */
export function parseAdvanced(text: string): Record<string, unknown> {
  if (!text.trim()) return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new Error("Advanced overrides must be valid JSON.");
  }
  if (!value || typeof value !== "object" || Array.isArray(value)) {
    throw new Error('Advanced overrides must be a JSON object, like {"eval": {"width": 0.5}}.');
  }
  return value as Record<string, unknown>;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return !!v && typeof v === "object" && !Array.isArray(v);
}

/** Deep merge of plain objects; `top` wins. */
export function deepMerge(base: Record<string, unknown>, top: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(top)) {
    out[k] = isObject(v) && isObject(out[k]) ? deepMerge(out[k] as Record<string, unknown>, v) : v;
  }
  return out;
}

/**
 * Overrides in the to_dict() shape holding only what differs from the
 * preset, so a preset's own constraints are not tripped by echoing values.
 */
export function buildOverrides(
  v: LaunchFormValues,
  preset: SearchConfigJson,
): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  const ev: Record<string, unknown> = {};
  if (v.mode !== preset.mode) o.mode = v.mode;
  if (v.strategy !== (preset.strategy ?? "evolution")) o.strategy = v.strategy;
  const ints: [keyof LaunchFormValues, string][] = [
    ["population_size", "population_size"],
    ["tournament_size", "tournament_size"],
    ["budget", "budget"],
  ];
  for (const [field, key] of ints) {
    const n = Number(v[field]);
    if (n !== preset[key]) o[key] = n;
  }
  if (Number(v.steps) !== preset.eval?.steps) ev.steps = Number(v.steps);
  if (v.dataset !== preset.eval?.dataset) ev.dataset = v.dataset;
  const archs = ARCHITECTURES.filter((a) => v.architectures.includes(a)) as string[];
  for (const a of v.architectures) if (!archs.includes(a)) archs.push(a);
  const presetArchs = preset.eval?.architectures ?? [];
  if (archs.length !== presetArchs.length || archs.some((a) => !presetArchs.includes(a))) {
    ev.architectures = archs;
  }
  if (Object.keys(ev).length) o.eval = ev;
  // the fields above win over the same keys in the advanced JSON
  return deepMerge(parseAdvanced(v.advanced), o);
}

/** Map a server error field ("eval.steps", "overrides.budget"…) to a form field. */
export function formFieldForServerField(field: string | null | undefined): string | null {
  if (!field) return null;
  const last = field.replace(/^(body\.|overrides\.)/, "").replace(/^eval\./, "");
  const map: Record<string, string> = {
    name: "name",
    preset: "preset",
    mode: "mode",
    strategy: "strategy",
    population_size: "population_size",
    tournament_size: "tournament_size",
    budget: "budget",
    steps: "steps",
    dataset: "dataset",
    architectures: "architectures",
    seed: "seed",
    seed_layer_ids: "seeds",
    seed_references: "seeds",
  };
  if (!(last in map) && field.length > 0) return "advanced";
  return map[last] ?? null;
}
