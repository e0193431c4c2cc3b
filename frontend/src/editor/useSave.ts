/**
 * Saving (Ctrl+S or the toolbar): a new layer, or a new version of the saved
 * one; the layout alone is saved without a version. A new layer's URL
 * becomes /editor/<id> within the same session, so the undo history stays.
 */
import { useCallback } from "react";
import { useNavigate } from "react-router";
import { errorMessage } from "../api/client";
import { useSaveLayer } from "../api/queries";
import { toDocument } from "./model";
import type { EditorStore } from "./store";
import type { Notify } from "./useNotice";

export function useSave(store: EditorStore, notify: Notify, session: string): { save: () => void; saving: boolean } {
  const navigate = useNavigate();
  const mutation = useSaveLayer();
  const { mutate } = mutation;
  const save = useCallback(() => {
    const { history, layer } = store.getState();
    const g = history.present;
    const name = g.name.trim();
    if (!name) {
      notify("Give the layer a name before saving.", "error");
      return;
    }
    const document = toDocument({ ...g, name });
    mutate(
      { id: layer ? layer.id : null, name, document },
      {
        onSuccess: (saved) => {
          store.dispatch({
            type: "saved",
            layer: saved,
            documentKey: JSON.stringify(document),
            rename: g.name !== name ? name : undefined,
          });
          notify(
            "layout_only" in saved && saved.layout_only
              ? `Saved the layout. The graph is unchanged, so it is still version ${saved.version}.`
              : `Saved ${saved.name} as version ${saved.version}.`,
          );
          if (!layer) navigate(`/editor/${saved.id}/`, { replace: true, state: { session } });
        },
        onError: (e) => notify(`Not saved: ${errorMessage(e)}`, "error"),
      },
    );
  }, [mutate, navigate, notify, session, store]);
  return { save, saving: mutation.isPending };
}
