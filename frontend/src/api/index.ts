/** Public surface of the API layer: `import { api, ApiError } from "../api"`. */
export * from "./types";
export * from "./client";
export { normalizeOpRegistry } from "./registry";
