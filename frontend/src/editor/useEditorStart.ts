/**
 * Where an editor session starts: a saved layer (`/editor/<id>`), a reference
 * layer (`?ref=<slug>`), a search candidate (`?from_candidate=<id>`) or a
 * blank canvas. Read once per session (a query keyed by it): saving a new
 * layer moves the URL to /editor/<id> within the same session, and reads nothing.
 */
import { useQuery } from "@tanstack/react-query";
import { useEffect, useRef } from "react";
import { api, errorMessage } from "../api/client";
import type { GraphDocument, LayerDetail } from "../api/types";
import { EDITOR_IMPORT_KEY } from "../searches/openInEditor";
import { emptyGraph, fromDocument, type EditorGraph } from "./model";
import type { EditorStore } from "./store";

export interface EditorStart {
  graph: EditorGraph;
  layer: LayerDetail | null;
  origin: string;
}

export async function loadStart(layerId: number | null, search: string): Promise<EditorStart> {
  if (layerId !== null) {
    const layer = await api.getLayer(layerId);
    return { graph: fromDocument({ ...layer.document, name: layer.name }), layer, origin: `layer ${layer.name}` };
  }
  const params = new URLSearchParams(search);
  const ref = params.get("ref");
  if (ref) {
    const refs = await api.referenceLayers();
    const found = refs.find((r) => r.slug === ref || r.name === ref);
    if (!found) throw new Error(`There is no reference layer ${JSON.stringify(ref)}.`);
    return { graph: fromDocument(found.document), layer: null, origin: `reference ${found.name}` };
  }
  const cand = params.get("from_candidate");
  if (cand) {
    let doc: GraphDocument | null = null;
    try {
      const stored = JSON.parse(sessionStorage.getItem(EDITOR_IMPORT_KEY) ?? "null") as {
        candidate_id?: number;
        document?: GraphDocument;
      } | null;
      if (stored && String(stored.candidate_id) === cand && stored.document) doc = stored.document;
    } catch {
      /* fall back to the API */
    }
    if (!doc) {
      const c = await api.getCandidate(Number(cand));
      doc = { ...c.document, name: c.document.name || `candidate ${c.id}` };
    }
    return { graph: fromDocument(doc), layer: null, origin: `candidate ${cand}` };
  }
  return { graph: emptyGraph(), layer: null, origin: "blank" };
}

/** Loads the session's start into the store once; `onLoaded` runs after (to set the view). */
export function useEditorStart(
  store: EditorStore,
  start: { session: string; layerId: number | null; search: string },
  onLoaded: () => void,
): { loadError: string | null } {
  const { session, layerId, search } = start;
  const q = useQuery({
    queryKey: ["editor-start", session],
    queryFn: () => loadStart(layerId, search),
    staleTime: Infinity,
    gcTime: 0,
  });
  const applied = useRef<EditorStart | null>(null);
  useEffect(() => {
    if (!q.data || applied.current === q.data) return;
    applied.current = q.data;
    store.dispatch({ type: "loaded", graph: q.data.graph, layer: q.data.layer });
    window.requestAnimationFrame(onLoaded);
  }, [q.data, store, onLoaded]);
  return { loadError: q.error ? errorMessage(q.error) : null };
}
