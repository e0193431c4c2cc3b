/**
 * Routes of the searches pages, mounted by the app shell (src/app/App.tsx)
 * as children of "/". The monitor and candidate pages pull in ECharts, so
 * they load as separate chunks.
 */

import { lazy, Suspense, type ReactNode } from "react";
import type { RouteObject } from "react-router";

const SearchesListPage = lazy(() => import("./SearchesList").then((m) => ({ default: m.SearchesListPage })));
const LaunchPage = lazy(() => import("./LaunchForm").then((m) => ({ default: m.LaunchPage })));
const MonitorPage = lazy(() => import("./MonitorPage").then((m) => ({ default: m.MonitorPage })));
const ComparePage = lazy(() => import("./ComparePage").then((m) => ({ default: m.ComparePage })));
const CandidatePage = lazy(() => import("./CandidatePage").then((m) => ({ default: m.CandidatePage })));

function Loading({ children }: { children: ReactNode }) {
  return <Suspense fallback={<p aria-busy="true">Loading…</p>}>{children}</Suspense>;
}

export const searchRoutes: RouteObject[] = [
  { path: "searches", element: <Loading><SearchesListPage /></Loading> },
  { path: "searches/new", element: <Loading><LaunchPage /></Loading> },
  { path: "searches/:searchId", element: <Loading><MonitorPage /></Loading> },
  { path: "searches/:searchId/compare", element: <Loading><ComparePage /></Loading> },
  { path: "candidates/:candidateId", element: <Loading><CandidatePage /></Loading> },
];
