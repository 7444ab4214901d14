import { ensureTraverseHook } from "./hook.js"; ensureTraverseHook();
