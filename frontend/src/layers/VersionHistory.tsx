/**
 * Version history of a saved layer: every save that changes the graph is a
 * version (a save of the layout alone is not). Each entry shows its formula
 * and what changed since the version before; view one (its graph, with the
 * added and changed nodes outlined) or restore it, which saves it again as
 * the newest version.
 */
import { useMemo, useState } from "react";
import { useQueryClient } from "@tanstack/react-query";
import { api } from "../api/client";
import { keys, useLayerVersions, useRestoreVersion } from "../api/queries";
import type { LayerSaved, LayerVersion, LayerVersionDetail } from "../api/types";
import { ErrorNote, formatDate } from "../app/ui";
import { GraphView } from "../editor/GraphView";
import { changeHeadline, touchedNodes } from "./versionText";

function Changes({ v }: { v: LayerVersion }) {
  const items = v.changes?.items ?? [];
  return (
    <div className="version-changes">
      <div className="small muted">{v.changes ? changeHeadline(v) : ""}</div>
      {items.length > 0 && (
        <ul className="change-list" aria-label={`Changes in version ${v.version}`}>
          {items.map((c, k) => (
            <li key={k} className={`change change-${c.kind}`}>
              {c.text}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

export function VersionHistory({
  layerId,
  currentVersion,
  onRestored,
}: {
  layerId: number;
  currentVersion: number;
  onRestored: (layer: LayerSaved) => void;
}) {
  const qc = useQueryClient();
  const list = useLayerVersions(layerId, currentVersion);
  const restoring = useRestoreVersion(layerId);
  const versions = list.data;
  const [viewing, setViewing] = useState<LayerVersionDetail | null>(null);
  const [viewError, setViewError] = useState<unknown>(null);
  const error = viewError ?? restoring.error ?? list.error;
  const busy = restoring.isPending;
  // Stable per version: a new set each render would hand React Flow new nodes, which it
  // hides until it measures them again (and it does not when their size is unchanged).
  const highlight = useMemo(() => (viewing ? touchedNodes(viewing) : undefined), [viewing]);

  const view = async (v: number) => {
    setViewError(null);
    restoring.reset();
    try {
      setViewing(await qc.fetchQuery({ queryKey: keys.layerVersion(layerId, v), queryFn: () => api.layerVersion(layerId, v) }));
    } catch (e) {
      setViewError(e);
    }
  };
  const restore = (v: number) => {
    setViewError(null);
    restoring.mutate(v, {
      onSuccess: (layer) => {
        setViewing(null);
        onRestored(layer);
      },
    });
  };

  return (
    <section className="panel" aria-labelledby="hist-h" data-testid="version-history">
      <h2 id="hist-h" className="panel-title">
        History
      </h2>
      <ErrorNote error={error} />
      {!versions && !error && <p className="muted">Loading…</p>}
      <ol className="version-list">
        {versions?.map((v) => (
          <li
            key={v.version}
            className={v.version === currentVersion ? "current" : undefined}
            aria-label={`Version ${v.version}`}
            data-testid={`version-${v.version}`}
          >
            <div className="version-head">
              <strong>v{v.version}</strong> <span className="muted small">{formatDate(v.created_at)}</span>
              {v.version === currentVersion && <span className="badge">current</span>}
            </div>
            <div className="small ellipsis" title={v.name}>
              {v.name}
            </div>
            <code className="formula version-formula" aria-label={`Formula of version ${v.version}`} title={v.formula}>
              {v.formula}
            </code>
            <Changes v={v} />
            <div className="button-row">
              <button type="button" className="btn btn-small" onClick={() => view(v.version)} aria-label={`View version ${v.version}`}>
                View
              </button>
              {v.version !== currentVersion && (
                <button
                  type="button"
                  className="btn btn-small"
                  disabled={busy}
                  onClick={() => restore(v.version)}
                  aria-label={`Restore version ${v.version}`}
                >
                  Restore
                </button>
              )}
            </div>
          </li>
        ))}
      </ol>
      {viewing && (
        <div className="modal-backdrop" onClick={() => setViewing(null)}>
          <div
            className="modal"
            role="dialog"
            aria-modal="true"
            aria-labelledby="version-view-h"
            onClick={(e) => e.stopPropagation()}
            onKeyDown={(e) => {
              if (e.key === "Escape") setViewing(null);
            }}
          >
            <h2 id="version-view-h">
              {viewing.name} — version {viewing.version}
            </h2>
            <p className="muted small">Saved {formatDate(viewing.created_at)}</p>
            <code className="formula block">{viewing.formula}</code>
            <Changes v={viewing} />
            <GraphView document={viewing.document} height={380} highlight={highlight} />
            <div className="button-row end">
              {viewing.version !== currentVersion && (
                <button type="button" className="btn btn-primary" disabled={busy} onClick={() => restore(viewing.version)}>
                  Restore this version
                </button>
              )}
              <button type="button" className="btn" onClick={() => setViewing(null)} autoFocus>
                Close
              </button>
            </div>
          </div>
        </div>
      )}
    </section>
  );
}
