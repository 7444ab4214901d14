/** Shared by the crash test and its child process. */
const U32 = "/state/scalar/value/number/uint/32";
export const CRASH_LOG = ["crash", "log"];
export const CRASH_MARK = ["crash", "mark"];
export const LOG_SCHEMA = [[[["round", U32], ["seq", U32], ["j", U32]], [["payload", "/state/scalar/value/string", 64]]], [["by_seq", ["seq"]]]];
export const MARK_SCHEMA = [[[["round", U32]], [["seq", U32]]], []];

/** Rows written by commit `seq`: mostly a few, every fifth one a few hundred (a longer write). */
export function rowsPerCommit(seq: number): number {
  return seq % 5 === 4 ? 300 : 3 + (seq % 4);
}
