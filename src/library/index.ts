/** Libraries defined in TypeScript: `defineLibrary`, `route`, `installLibrary`, typed stubs. */
export { defineLibrary, installLibrary, route, type Deferred, type LibraryDefinition, type LibraryRef, type LibraryRoute, type LibraryStub } from "./define.js";
