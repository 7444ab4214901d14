/** The cluster executor: tables sharded across hosts by key hash (PROFILE §6.16). */
export { cluster, ClusterExecutor, CLUSTER_REQUIRED_EXTENSIONS, RANGES_TABLE, type ClusterExplain } from "./cluster-executor.js";
export { ClusterLayoutError, evenRanges, keyHash, HASH_SPACE, type ClusterOptions, type ShardSpec } from "./layout.js";
export type { GatherStat } from "./gather.js";
