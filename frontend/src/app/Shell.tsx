/** The page frame: header with navigation and the signed-in user, then the routed page. */
import { NavLink, Outlet } from "react-router";
import { getCookie } from "../api/client";
import { useCurrentUser } from "./UserContext";

const LINKS: Array<{ to: string; label: string; end?: boolean }> = [
  { to: "/layers/", label: "Layers" },
  { to: "/editor/", label: "Editor", end: true },
  { to: "/searches/", label: "Searches", end: true },
  { to: "/searches/new/", label: "New search" },
];

export function Shell() {
  const user = useCurrentUser();
  return (
    <div className="shell">
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <NavLink to="/" className="brand" aria-label="The layer lab, home">
          <span className="brand-mark" aria-hidden="true">
            ◇
          </span>{" "}
          the layer lab
        </NavLink>
        <nav aria-label="Main">
          <ul className="nav-links">
            {LINKS.map((l) => (
              <li key={l.to}>
                <NavLink to={l.to} end={l.end} className={({ isActive }) => (isActive ? "active" : undefined)}>
                  {l.label}
                </NavLink>
              </li>
            ))}
          </ul>
        </nav>
        <div className="user-box">
          <span className="user-name" aria-label="Signed in as">
            {user.username || "…"}
          </span>
          <form method="post" action="/accounts/logout/">
            <input type="hidden" name="csrfmiddlewaretoken" value={getCookie("csrftoken") ?? ""} />
            <button type="submit" className="btn btn-quiet" aria-label="Sign out">
              Sign out
            </button>
          </form>
        </div>
      </header>
      <main id="main" className="page" tabIndex={-1}>
        <Outlet />
      </main>
    </div>
  );
}
