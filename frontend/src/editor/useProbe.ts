/** The numeric check of the graph as it stands (POST /api/layers/numeric-check). */
import { useCallback } from "react";
import { errorMessage } from "../api/client";
import { useNumericCheck } from "../api/queries";
import type { NumericProbe } from "../api/types";
import { toDocument } from "./model";
import type { EditorStore } from "./store";

export function useProbe(store: EditorStore): {
  probe: NumericProbe | null;
  probeError: string | null;
  probing: boolean;
  checkNumerics: () => void;
} {
  const mutation = useNumericCheck();
  const { mutate } = mutation;
  const checkNumerics = useCallback(() => mutate(toDocument(store.getState().history.present)), [mutate, store]);
  return {
    probe: mutation.data ?? null,
    probeError: mutation.error ? errorMessage(mutation.error) : null,
    probing: mutation.isPending,
    checkNumerics,
  };
}
