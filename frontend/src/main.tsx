/**
 * Entry point of the single-page app; Django's app.html template mounts it on
 * <div id="root" data-username="…">.
 */
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import "@xyflow/react/dist/style.css";
import "./styles/tokens.css";
import "./styles/app.css";
import { App } from "./app/App";

const root = document.getElementById("root");
if (root) {
  createRoot(root).render(
    <StrictMode>
      <App username={root.dataset.username ?? ""} />
    </StrictMode>,
  );
}
