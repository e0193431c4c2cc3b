/**
 * The launch form (/searches/new/): pick a preset, adjust the main settings,
 * choose seed layers from saved designs and the reference layers, and start.
 * Fields are checked here first; the server's own error lands on its field.
 */

import { useMemo, useState, type FormEvent, type ReactNode } from "react";
import { useNavigate } from "react-router";
import { ApiError, errorMessage } from "../api/client";
import { useCreateSearch, useLayers, usePresets, useReferenceLayers, useSearchEstimate } from "../api/queries";
import type { Preset, SearchEstimate } from "../api/types";
import { ErrorNote } from "../app/ui";
import { estimateText } from "./estimate";
import {
  ARCHITECTURES,
  buildOverrides,
  DATASETS,
  formFieldForServerField,
  qualityGateSteps,
  switchSuggestedSeeds,
  validateLaunch,
  valuesFromPreset,
  type FieldErrors,
  type LaunchFormValues,
} from "./validation";
import "./searches.css";

function Field({
  id,
  label,
  error,
  hint,
  children,
}: {
  id: string;
  label: string;
  error?: string;
  hint?: string;
  children: ReactNode;
}) {
  return (
    <div className={`lf-field${error ? " has-error" : ""}`}>
      <label htmlFor={id}>{label}</label>
      {children}
      {hint ? (
        <span className="muted small" id={`${id}-hint`}>
          {hint}
        </span>
      ) : null}
      {error ? (
        <span className="field-error" id={`${id}-error`} role="alert">
          {error}
        </span>
      ) : null}
    </div>
  );
}

/** One line on each strategy, under the field. */
const STRATEGY_HINT: Record<string, string> = {
  evolution: "Tournaments pick parents on the Pareto front and mutate them (the paper's search).",
  random: "Random layers only, with the same checks: the paper's baseline, to compare against.",
};

type NumericKey = "population_size" | "tournament_size" | "budget" | "seed" | "steps";

const EMPTY: LaunchFormValues = {
  name: "",
  preset: "",
  mode: "S",
  strategy: "evolution",
  population_size: "",
  tournament_size: "",
  budget: "",
  steps: "",
  dataset: "",
  architectures: [],
  seed: "",
  seed_layer_ids: [],
  seed_references: [],
  advanced: "",
};

export function LaunchPage() {
  const navigate = useNavigate();
  const presetsQuery = usePresets();
  const presets = presetsQuery.data ?? null;
  const layers = useLayers({ page: 1, page_size: 200 }).data?.items ?? [];
  const references = useReferenceLayers().data ?? [];
  const creating = useCreateSearch();
  const submitting = creating.isPending;
  const [values, setValues] = useState<LaunchFormValues>(EMPTY);
  const [errors, setErrors] = useState<FieldErrors>({});
  const [formError, setFormError] = useState<string | null>(null);

  // The form starts from cpu-quick (or the first preset) once the presets are in,
  // with the seeds that preset suggests ticked.
  const [prefilled, setPrefilled] = useState(false);
  if (presets && !prefilled) {
    setPrefilled(true);
    const first = presets.find((p) => p.name === "cpu-quick") ?? presets[0];
    if (first) {
      setValues(valuesFromPreset(first, {
        ...EMPTY, name: `${first.name} search`, seed_references: [...(first.seed_references ?? [])],
      }));
    }
  }

  const preset = useMemo(() => presets?.find((p) => p.name === values.preset) ?? null, [presets, values.preset]);
  const estimate = useEstimate(values, preset);
  const gateSteps = qualityGateSteps(values.advanced, preset?.config);

  const set = <K extends keyof LaunchFormValues>(key: K, value: LaunchFormValues[K]) => {
    setValues((v) => ({ ...v, [key]: value }));
    setErrors((e) => ({ ...e, [key]: undefined }));
  };

  const choosePreset = (name: string) => {
    const p = presets?.find((x) => x.name === name);
    if (!p) return;
    const autoName = presets?.some((x) => values.name === `${x.name} search`) || !values.name;
    const suggested = presets?.find((x) => x.name === values.preset)?.seed_references ?? [];
    setValues((v) => valuesFromPreset(p, {
      ...v,
      name: autoName ? `${p.name} search` : v.name,
      seed_references: switchSuggestedSeeds(v.seed_references, suggested, p.seed_references ?? []),
    }));
    setErrors({});
  };

  const toggle = (key: "architectures" | "seed_references", item: string) => {
    const list = values[key];
    set(key, list.includes(item) ? list.filter((x) => x !== item) : [...list, item]);
  };

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setFormError(null);
    const errs = validateLaunch(values, preset?.config);
    setErrors(errs);
    if (Object.keys(errs).length) {
      const first = Object.keys(errs)[0];
      document.getElementById(`f-${first}`)?.focus();
      return;
    }
    if (!preset) return;
    try {
      const detail = await creating.mutateAsync({
        name: values.name.trim(),
        preset: values.preset,
        overrides: buildOverrides(values, preset.config),
        ...(values.seed.trim() ? { seed: Number(values.seed) } : {}),
        seed_layer_ids: values.seed_layer_ids,
        seed_references: values.seed_references,
      });
      navigate(`/searches/${detail.id}/`);
    } catch (err) {
      let field = err instanceof ApiError ? formFieldForServerField(err.field) : null;
      if (field === "advanced" && !values.advanced.trim()) field = null;
      if (field) {
        setErrors({ [field]: errorMessage(err) });
        document.getElementById(`f-${field}`)?.focus();
      } else setFormError(errorMessage(err));
    }
  };

  const archOptions = [
    ...ARCHITECTURES,
    ...((preset?.config.eval?.architectures ?? []).filter((a) => !(ARCHITECTURES as readonly string[]).includes(a))),
  ];
  const datasetOptions = [...new Set([...DATASETS, ...(preset?.config.eval?.dataset ? [preset.config.eval.dataset] : [])])];
  const describedBy = (f: string, hint = false) =>
    [errors[f] ? `f-${f}-error` : "", hint ? `f-${f}-hint` : ""].filter(Boolean).join(" ") || undefined;

  /** A whole-number text input with its label, hint and error, wired for screen readers. */
  const numberField = (key: NumericKey, label: string, hint?: string) => (
    <Field id={`f-${key}`} label={label} error={errors[key]} hint={hint}>
      <input
        id={`f-${key}`}
        inputMode="numeric"
        value={values[key]}
        onChange={(e) => set(key, e.target.value)}
        aria-invalid={!!errors[key]}
        aria-describedby={describedBy(key, hint !== undefined)}
      />
    </Field>
  );

  return (
    <div className="searches launch">
      <h1>New search</h1>
      {presetsQuery.error ? <ErrorNote error={presetsQuery.error}>Could not load presets: </ErrorNote> : null}
      <ErrorNote>{formError}</ErrorNote>
      {!presets ? (
        <p aria-busy="true">Loading presets…</p>
      ) : (
        <form className="launch-form" onSubmit={(e) => void submit(e)} noValidate aria-label="Launch a search">
          <fieldset>
            <legend>Preset</legend>
            <div className="preset-cards" role="radiogroup" aria-label="Preset">
              {presets.map((p) => (
                <label key={p.name} className={`preset-card${values.preset === p.name ? " selected" : ""}`}>
                  <input
                    type="radio"
                    name="preset"
                    value={p.name}
                    checked={values.preset === p.name}
                    onChange={() => choosePreset(p.name)}
                  />
                  <strong>{p.name}</strong>
                  <span className="muted small">{p.description}</span>
                </label>
              ))}
            </div>
            {errors.preset ? <span className="field-error">{errors.preset}</span> : null}
          </fieldset>

          <fieldset>
            <legend>Search</legend>
            <div className="field-grid">
              <Field id="f-name" label="Name" error={errors.name}>
                <input
                  id="f-name"
                  value={values.name}
                  maxLength={100}
                  onChange={(e) => set("name", e.target.value)}
                  aria-invalid={!!errors.name}
                  aria-describedby={describedBy("name")}
                />
              </Field>
              <Field id="f-mode" label="Mode" error={errors.mode} hint="B may use batch statistics; S may not.">
                <select
                  id="f-mode"
                  value={values.mode}
                  onChange={(e) => set("mode", e.target.value)}
                  aria-invalid={!!errors.mode}
                  aria-describedby={describedBy("mode", true)}
                >
                  <option value="B">B (batch-based)</option>
                  <option value="S">S (sample-based)</option>
                </select>
              </Field>
              <Field id="f-strategy" label="Strategy" error={errors.strategy} hint={STRATEGY_HINT[values.strategy]}>
                <select
                  id="f-strategy"
                  value={values.strategy}
                  onChange={(e) => set("strategy", e.target.value)}
                  aria-invalid={!!errors.strategy}
                  aria-describedby={describedBy("strategy", true)}
                >
                  <option value="evolution">evolution</option>
                  <option value="random">random</option>
                </select>
              </Field>
              {numberField("population_size", "Population")}
              {numberField("tournament_size", "Tournament size")}
              {numberField(
                "budget",
                "Budget (candidates)",
                "Counts the candidates that reach training; layers the free checks or the stability test refuse are replaced at no cost.",
              )}
              {numberField("seed", "Random seed", "Empty: the server picks one.")}
            </div>
          </fieldset>

          <fieldset>
            <legend>Evaluation</legend>
            <div className="field-grid">
              {numberField(
                "steps",
                "Training steps",
                gateSteps !== undefined ? `At least ${gateSteps} (the quality gate).` : undefined,
              )}
              <Field id="f-dataset" label="Data set" error={errors.dataset}>
                <select
                  id="f-dataset"
                  value={values.dataset}
                  onChange={(e) => set("dataset", e.target.value)}
                  aria-invalid={!!errors.dataset}
                  aria-describedby={describedBy("dataset")}
                >
                  {datasetOptions.map((d) => (
                    <option key={d} value={d}>
                      {d}
                    </option>
                  ))}
                </select>
              </Field>
            </div>
            <div
              className={`lf-field${errors.architectures ? " has-error" : ""}`}
              role="group"
              aria-labelledby="f-architectures-label"
              aria-describedby={describedBy("architectures")}
            >
              <span id="f-architectures-label" className="lf-label">
                Anchor architectures
              </span>
              <div className="checks">
                {archOptions.map((a, i) => (
                  <label key={a}>
                    <input
                      id={i === 0 ? "f-architectures" : undefined}
                      type="checkbox"
                      checked={values.architectures.includes(a)}
                      onChange={() => toggle("architectures", a)}
                    />{" "}
                    {a}
                  </label>
                ))}
              </div>
              {errors.architectures ? (
                <span className="field-error" id="f-architectures-error" role="alert">
                  {errors.architectures}
                </span>
              ) : null}
            </div>
          </fieldset>

          <fieldset>
            <legend>Seed layers (optional)</legend>
            <p className="muted small">
              Seeds enter the first population as they are; the rest of it is random.
              Most random layers fail the rejection protocols: in a measured 50-candidate
              cpu-quick search from random layers alone, all 50 did. Seed a small search with
              reference layers or your own designs to evolve from layers that train.
            </p>
            <div className="seed-lists">
              <div>
                <label htmlFor="f-seeds" className="lf-label">
                  Saved designs
                </label>
                {layers.length === 0 ? (
                  <p className="muted small">No saved layers yet.</p>
                ) : (
                  <select
                    id="f-seeds"
                    multiple
                    size={Math.min(8, Math.max(3, layers.length))}
                    value={values.seed_layer_ids.map(String)}
                    onChange={(e) =>
                      set(
                        "seed_layer_ids",
                        [...e.target.selectedOptions].map((o) => Number(o.value)),
                      )
                    }
                    aria-describedby={errors.seeds ? "f-seeds-error" : undefined}
                  >
                    {layers.map((l) => (
                      <option key={l.id} value={l.id} disabled={l.mode === "B" && values.mode === "S"}>
                        {l.name} ({l.mode}) — {l.formula}
                      </option>
                    ))}
                  </select>
                )}
              </div>
              <div role="group" aria-label="Reference layers">
                <span className="lf-label">Reference layers</span>
                <div className="checks column">
                  {references.map((r) => (
                    <label key={r.slug} title={r.formula}>
                      <input
                        type="checkbox"
                        checked={values.seed_references.includes(r.slug)}
                        disabled={r.mode === "B" && values.mode === "S"}
                        onChange={() => toggle("seed_references", r.slug)}
                      />{" "}
                      {r.name} <span className="muted small">({r.mode})</span>
                      {preset?.seed_references?.includes(r.slug) ? (
                        <span className="muted small"> · suggested by {preset.name}</span>
                      ) : null}
                    </label>
                  ))}
                </div>
              </div>
            </div>
            {errors.seeds ? (
              <span className="field-error" id="f-seeds-error" role="alert">
                {errors.seeds}
              </span>
            ) : null}
          </fieldset>

          <details className="advanced" open={!!values.advanced || !!errors.advanced}>
            <summary>Advanced overrides</summary>
            <Field
              id="f-advanced"
              label="More settings (JSON)"
              error={errors.advanced}
              hint='Any other setting of the config, merged under the fields above, e.g. {"eval": {"width": 0.5}, "rerank_top_k": 0}.'
            >
              <textarea
                id="f-advanced"
                rows={4}
                spellCheck={false}
                value={values.advanced}
                onChange={(e) => set("advanced", e.target.value)}
                aria-invalid={!!errors.advanced}
                aria-describedby={describedBy("advanced", true)}
              />
            </Field>
            {preset ? (
              <details>
                <summary className="muted small">The preset's full configuration</summary>
                <pre className="config-json">{JSON.stringify(preset.config, null, 2)}</pre>
              </details>
            ) : null}
          </details>

          <RuntimeBox estimate={estimate} steps={Number(values.steps) || undefined} />

          <div className="form-actions">
            <button type="submit" className="btn btn-primary" disabled={submitting}>
              {submitting ? "Starting…" : "Start search"}
            </button>
          </div>
        </form>
      )}
    </div>
  );
}

/**
 * The server's estimate for the search the form describes, refreshed 400 ms
 * after the last change; null while the form cannot be sent as it stands.
 */
function useEstimate(values: LaunchFormValues, preset: Preset | null): SearchEstimate | null {
  const body = useMemo(() => {
    if (!preset || Object.keys(validateLaunch(values, preset.config)).length) return null;
    return JSON.stringify({ preset: preset.name, overrides: buildOverrides(values, preset.config) });
  }, [values, preset]);
  return useSearchEstimate(body);
}

function RuntimeBox({ estimate, steps }: { estimate: SearchEstimate | null; steps: number | undefined }) {
  const text = estimate ? estimateText(estimate, steps) : null;
  return (
    <section className="runtime-box" aria-labelledby="runtime-title" aria-live="polite">
      <h2 id="runtime-title">On this lab</h2>
      {text ? (
        <>
          <p className={text.short ? "runtime-short" : undefined} data-testid="estimate-concurrency">
            {text.concurrency}
          </p>
          <p data-testid="estimate-time">{text.time}</p>
        </>
      ) : (
        <p className="muted small">The estimate appears when the settings above are complete.</p>
      )}
    </section>
  );
}
