/**
 * The server's own verdict on the document being edited (POST
 * /api/layers/validate), requested 300 ms after the last change; earlier
 * requests are aborted so an old answer never overwrites a newer one.
 */
import { useEffect, useState } from "react";
import { api, errorMessage } from "../api/client";
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
  const [state, setState] = useState<ServerVerdict>({ forKey: null, result: null, error: null, pending: true });
  useEffect(() => {
    const ctrl = new AbortController();
    setState((s) => ({ ...s, pending: true }));
    const timer = window.setTimeout(() => {
      api.validateLayer(JSON.parse(key) as GraphDocument, ctrl.signal).then(
        (result) => setState({ forKey: key, result, error: null, pending: false }),
        (e) => {
          if ((e as Error).name !== "AbortError") setState({ forKey: key, result: null, error: errorMessage(e), pending: false });
        },
      );
    }, delayMs);
    return () => {
      window.clearTimeout(timer);
      ctrl.abort();
    };
  }, [key, delayMs]);
  return state;
}
