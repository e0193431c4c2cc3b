// Entry point of the single-page app; Django's app.html template mounts it on #root.
import { createRoot } from "react-dom/client";

const root = document.getElementById("root");
if (root) {
  createRoot(root).render(<p>The layer lab</p>);
}
