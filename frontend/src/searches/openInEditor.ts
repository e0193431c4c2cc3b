/**
 * "Open in editor": hands a candidate's graph to the editor page. The
 * document goes to sessionStorage under `lab.editor.import` and the editor is
 * opened with `?from_candidate=<id>`, so the editor can use either the
 * stored document or fetch GET /api/candidates/<id> itself.
 */

import type { CandidateDetail } from "../api/types";

export const EDITOR_IMPORT_KEY = "lab.editor.import";

/** Store the hand-over and return the editor URL to navigate to. */
export function openInEditor(cand: Pick<CandidateDetail, "id" | "document" | "formula">): string {
  const doc = { ...cand.document, name: (cand.document.name as string | undefined) || `candidate ${cand.id}` };
  try {
    sessionStorage.setItem(
      EDITOR_IMPORT_KEY,
      JSON.stringify({ source: "candidate", candidate_id: cand.id, document: doc }),
    );
  } catch {
    /* private mode or full storage: the query parameter still carries the id */
  }
  return `/editor/?from_candidate=${cand.id}`;
}
