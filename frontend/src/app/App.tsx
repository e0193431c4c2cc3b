/**
 * Client-side routes of the single-page app (INTERFACES section 6). Django
 * serves the same template at each of these paths, so a reload lands here too.
 */
import { useEffect, useMemo, useState } from "react";
import { createBrowserRouter, RouterProvider, type RouteObject } from "react-router";
import { api } from "../api/client";
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
  const [user, setUser] = useState<CurrentUser>({ username, id: null });
  const router = useMemo(() => createBrowserRouter(appRoutes), []);
  useEffect(() => {
    api.me().then(
      (me) => setUser({ username: me.username, id: me.id }),
      () => undefined, // the template's data-username still shows; pages report their own errors
    );
  }, []);
  return (
    <UserContext.Provider value={user}>
      <RouterProvider router={router} />
    </UserContext.Provider>
  );
}
