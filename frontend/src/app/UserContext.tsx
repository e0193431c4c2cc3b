/** The signed-in user, read from the template's `data-username` and confirmed by `GET /api/me`. */
import { createContext, useContext } from "react";

export interface CurrentUser {
  username: string;
  id: number | null;
}

export const UserContext = createContext<CurrentUser>({ username: "", id: null });

export const useCurrentUser = () => useContext(UserContext);
