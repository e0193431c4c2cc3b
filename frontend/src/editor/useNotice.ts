/** The editor's passing message (bottom of the canvas): shown for 6 s, or until the next one. */
import { useCallback, useEffect, useState } from "react";

export interface Notice {
  text: string;
  kind: "info" | "error";
  at: number;
}

export type Notify = (text: string, kind?: "info" | "error") => void;

export function useNotice(): { notice: Notice | null; notify: Notify } {
  const [notice, setNotice] = useState<Notice | null>(null);
  const notify = useCallback<Notify>((text, kind = "info") => setNotice({ text, kind, at: Date.now() }), []);
  useEffect(() => {
    if (!notice) return;
    const t = window.setTimeout(() => setNotice((n) => (n === notice ? null : n)), 6000);
    return () => window.clearTimeout(t);
  }, [notice]);
  return { notice, notify };
}
