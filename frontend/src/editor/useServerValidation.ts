/**
 * The server's own verdict on the document being edited (POST
 * /api/layers/validate), requested 300 ms after the last change; earlier
 * requests are aborted so an old answer never overwrites a newer one.
 */
import { errorMessage } from "../api/client";
import { useValidation } from "../api/queries";
import type { GraphDocument, ValidateResult } from "../api/types";

export interface ServerVerdict {
  /** JSON of the document the result is for. */
  forKey: string | null;
  result: ValidateResult | null;
  error: string | null;
  pending: boolean;
}

export function semanticKey(doc: GraphDocument): string {
  const { ui: _ui, ...rest } = doc;
  void _ui;
  return JSON.stringify(rest);
}

export function useServerValidation(doc: GraphDocument, delayMs = 300): ServerVerdict {
  const key = semanticKey(doc);
  const q = useValidation(key, delayMs);
  if (q.error) {
    const forKey = q.asked;
    return { forKey, result: null, error: errorMessage(q.error), pending: forKey !== key };
  }
  const forKey = q.data?.forKey ?? null;
  return { forKey, result: q.data?.result ?? null, error: null, pending: forKey !== key || q.isPlaceholderData };
}
