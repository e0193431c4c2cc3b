import { describe, expect, it } from "vitest";
import {
  buildOverrides,
  formFieldForServerField,
  qualityGateSteps,
  switchSuggestedSeeds,
  validateLaunch,
  valuesFromPreset,
} from "./validation";

const preset = {
  name: "cpu-quick",
  description: "",
  config: {
    mode: "S",
    population_size: 8,
    tournament_size: 3,
    budget: 20,
    eval: { dataset: "synthetic", architectures: ["resnet50", "mobilenetv2"], steps: 30, quality_steps: 5 },
  },
};

describe("launch form validation", () => {
  it("accepts a preset's own values", () => {
    const v = valuesFromPreset(preset);
    v.name = "s1";
    expect(validateLaunch(v)).toEqual({});
    expect(buildOverrides(v, preset.config)).toEqual({});
  });
  it("rejects non-integers, ranges, tournament above population, no architecture", () => {
    const v = { ...valuesFromPreset(preset), name: "", budget: "1.5", steps: "0", population_size: "4", tournament_size: "9", architectures: [], seed: "x" };
    const e = validateLaunch(v);
    expect(e.name).toMatch(/name/);
    expect(e.budget).toMatch(/whole number/);
    expect(e.steps).toMatch(/between/);
    expect(e.tournament_size).toMatch(/exceed/);
    expect(e.architectures).toMatch(/at least one/);
    expect(e.seed).toMatch(/whole number/);
  });
  it("keeps steps at or above the preset's quality-gate steps", () => {
    const v = { ...valuesFromPreset(preset), name: "s", steps: "4" };
    expect(validateLaunch(v, preset.config).steps).toMatch(/at least 5/);
    expect(validateLaunch({ ...v, steps: "5" }, preset.config)).toEqual({});
  });
  it("takes the quality gate from the advanced overrides when they set it", () => {
    expect(qualityGateSteps("", preset.config)).toBe(5);
    expect(qualityGateSteps('{"eval": {"quality_steps": 2}}', preset.config)).toBe(2);
    expect(qualityGateSteps("{not json", preset.config)).toBe(5);
    const v = { ...valuesFromPreset(preset), name: "s", steps: "3", advanced: '{"eval": {"quality_steps": 2}}' };
    expect(validateLaunch(v, preset.config)).toEqual({});
  });
  it("sends the strategy only when it differs from the preset's, and checks it", () => {
    const v = { ...valuesFromPreset(preset), name: "s" };
    expect(v.strategy).toBe("evolution");
    expect(buildOverrides({ ...v, strategy: "random" }, preset.config)).toEqual({ strategy: "random" });
    expect(buildOverrides(v, preset.config)).toEqual({});
    expect(validateLaunch({ ...v, strategy: "genetic" }).strategy).toMatch(/evolution or random/);
    expect(formFieldForServerField("strategy")).toBe("strategy");
  });
  it("sends only what differs from the preset", () => {
    const v = { ...valuesFromPreset(preset), name: "s", budget: "6", steps: "10", architectures: ["mobilenetv2"], mode: "B" };
    expect(buildOverrides(v, preset.config)).toEqual({
      mode: "B",
      budget: 6,
      eval: { steps: 10, architectures: ["mobilenetv2"] },
    });
  });
  it("merges advanced JSON overrides under the fields and checks it", () => {
    const v = {
      ...valuesFromPreset(preset),
      name: "s",
      steps: "20",
      advanced: '{"rerank_top_k": 0, "eval": {"quality_steps": 10, "steps": 99, "width": 0.5}}',
    };
    expect(validateLaunch(v, preset.config)).toEqual({});
    expect(buildOverrides(v, preset.config)).toEqual({
      rerank_top_k: 0,
      eval: { quality_steps: 10, steps: 20, width: 0.5 },
    });
    expect(validateLaunch({ ...v, steps: "8" }, preset.config).steps).toMatch(/at least 10/);
    expect(validateLaunch({ ...v, advanced: "{oops" }, preset.config).advanced).toMatch(/valid JSON/);
    expect(validateLaunch({ ...v, advanced: "[1]" }, preset.config).advanced).toMatch(/object/);
  });
  it("maps server error fields to form fields", () => {
    expect(formFieldForServerField("eval.steps")).toBe("steps");
    expect(formFieldForServerField("overrides.budget")).toBe("budget");
    expect(formFieldForServerField("budget")).toBe("budget");
    expect(formFieldForServerField("seed_layer_ids")).toBe("seeds");
    expect(formFieldForServerField("eval.width")).toBe("advanced");
    expect(formFieldForServerField(null)).toBeNull();
  });
});

describe("switchSuggestedSeeds", () => {
  it("swaps the old preset's suggestions for the new one's and keeps the user's", () => {
    expect(switchSuggestedSeeds(["bn_relu", "mine"], ["bn_relu"], ["evonorm_s0"])).toEqual(["mine", "evonorm_s0"]);
    expect(switchSuggestedSeeds([], [], ["bn_relu", "evonorm_s0"])).toEqual(["bn_relu", "evonorm_s0"]);
    expect(switchSuggestedSeeds(["bn_relu"], [], ["bn_relu"])).toEqual(["bn_relu"]); // no repeat
    expect(switchSuggestedSeeds(["bn_relu"], ["bn_relu"], [])).toEqual([]);
  });
});
