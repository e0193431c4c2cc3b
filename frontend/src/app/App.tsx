/**
 * Client-side routes of the single-page app (INTERFACES section 6). Django
 * serves the same template at each of these paths, so a reload lands here too.
 */
import { QueryClientProvider } from "@tanstack/react-query";
import { useMemo, useState } from "react";
import { createBrowserRouter, RouterProvider, type RouteObject } from "react-router";
import { createQueryClient, useMe } from "../api/queries";
import { EditorRoute } from "../editor/EditorPage";
import { LayersPage } from "../layers/LayersPage";
import { searchRoutes } from "../searches/routes";
import { Home } from "./Home";
import { Shell } from "./Shell";
import { NotFound } from "./ui";
import { UserContext, type CurrentUser } from "./UserContext";

export const appRoutes: RouteObject[] = [
  {
    path: "/",
    element: <Shell />,
    children: [
      { index: true, element: <Home /> },
      { path: "layers", element: <LayersPage /> },
      { path: "editor/:id?", element: <EditorRoute /> },
      ...searchRoutes,
      { path: "*", element: <NotFound /> },
    ],
  },
];

export function App({ username }: { username: string }) {
  const [client] = useState(createQueryClient);
  return (
    <QueryClientProvider client={client}>
      <Routes username={username} />
    </QueryClientProvider>
  );
}

function Routes({ username }: { username: string }) {
  const router = useMemo(() => createBrowserRouter(appRoutes), []);
  // Until /api/me answers (or if it fails) the template's data-username shows; pages report their own errors.
  const me = useMe().data;
  const user = useMemo<CurrentUser>(() => (me ? { username: me.username, id: me.id } : { username, id: null }), [me, username]);
  return (
    <UserContext.Provider value={user}>
      <RouterProvider router={router} />
    </UserContext.Provider>
  );
}
