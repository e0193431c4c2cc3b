/**
 * What is known about the layer as it stands: the browser's own checks (the
 * validation mirror) and the server's verdict, formula, mode and hash.
 */
import { ModeBadge } from "../app/ui";
import type { Validation } from "./validation";
import type { ServerVerdict } from "./useServerValidation";

/** The server's error in the user's terms where the engine's wording is internal. */
export function serverMessage(message: string): string {
  return message.replace(/input '' names no node/g, "an input slot is not connected");
}

/** An issue's message; one that names a node is a button that shows the node. */
function IssueMessage({
  issue,
  onFocusNode,
}: {
  issue: { node?: string | null; message: string };
  onFocusNode: (id: string) => void;
}) {
  const node = issue.node;
  if (!node) return <>{issue.message}</>;
  return (
    <button type="button" className="link-button" onClick={() => onFocusNode(node)} aria-label={`Show node ${node}: ${issue.message}`}>
      {issue.message}
    </button>
  );
}

export function ChecksPanel({
  validation,
  server,
  currentKey,
  onFocusNode,
}: {
  validation: Validation;
  server: ServerVerdict;
  currentKey: string;
  onFocusNode: (id: string) => void;
}) {
  const fresh = server.forKey === currentKey && !server.pending;
  const r = server.result;
  return (
    <section className="panel" aria-labelledby="checks-h">
      <h2 id="checks-h" className="panel-title">
        Checks
      </h2>
      <div className="check-row">
        <span className="check-label">Browser</span>
        {validation.valid ? (
          <span className="ok-text" data-testid="local-valid">
            no problems
            {validation.warnings.length > 0 && (
              <span className="warn-text" data-testid="local-warnings">
                {" "}
                · {validation.warnings.length} warning{validation.warnings.length > 1 ? "s" : ""}
              </span>
            )}
          </span>
        ) : (
          <span className="bad-text" data-testid="local-invalid">
            {validation.issues.length} problem{validation.issues.length > 1 ? "s" : ""}
          </span>
        )}
        <ModeBadge mode={validation.mode} />
      </div>
      {!validation.valid && (
        <ul className="issue-list" aria-label="Problems found in the browser">
          {validation.issues.slice(0, 30).map((i, k) => (
            <li key={k}>
              <span className="code">{i.code}</span> <IssueMessage issue={i} onFocusNode={onFocusNode} />
            </li>
          ))}
        </ul>
      )}
      {validation.warnings.length > 0 && (
        <ul className="issue-list warning-list" aria-label="Warnings">
          {validation.warnings.slice(0, 30).map((i, k) => (
            <li key={k}>
              <IssueMessage issue={i} onFocusNode={onFocusNode} />
            </li>
          ))}
        </ul>
      )}
      <div className="check-row" aria-live="polite" data-testid="server-verdict">
        <span className="check-label">Server</span>
        {server.error ? (
          <span className="bad-text">unreachable: {server.error}</span>
        ) : !r ? (
          <span className="muted">checking…</span>
        ) : r.valid ? (
          <span className="ok-text">
            valid
            {(r.warnings?.length ?? 0) > 0 && (
              <span className="warn-text" title={r.warnings!.map((w) => w.message).join("\n")}>
                {" "}
                · {r.warnings!.length} unused node{r.warnings!.length > 1 ? "s" : ""} not computed
              </span>
            )}
          </span>
        ) : (
          <span className="bad-text">invalid</span>
        )}
        {r?.mode && <ModeBadge mode={r.mode} />}
        {!fresh && r && <span className="muted small">(updating…)</span>}
      </div>
      {r && !r.valid && r.error && (
        <p className="server-error" role="status">
          <span className="code">{r.error.code}</span> {serverMessage(r.error.message)}
        </p>
      )}
      <div className="formula-box">
        <div className="check-label">Formula</div>
        <output className="formula" data-testid="formula" aria-label="Formula from the server">
          {r?.formula ?? (r ? "—" : "…")}
        </output>
        <div className="muted small">y = formula × weight + bias</div>
      </div>
      {r?.canonical_hash && (
        <div className="muted small hash" title={r.canonical_hash}>
          hash {r.canonical_hash.slice(0, 12)}
        </div>
      )}
    </section>
  );
}
