/**
 * The in-process limit: a plain typed-array adjacency (CSR: offsets + targets Int32Array) over
 * the dataset, with the traversals written as tight loops. Nothing can be much faster in JS.
 */
import type { Dataset } from "../dataset.js";
import { CITIES, userName } from "../dataset.js";

export interface Csr {
  /** follows: targets of user u are followTargets[followOffsets[u] … followOffsets[u+1]). */
  readonly followOffsets: Int32Array;
  readonly followTargets: Int32Array;
  /** posts by author: post ids of user u are postIds[postOffsets[u] … postOffsets[u+1]). */
  readonly postOffsets: Int32Array;
  readonly postIds: Int32Array;
  readonly postLang: Uint8Array;
  readonly names: readonly string[];
  readonly cities: readonly string[];
  readonly ages: Uint8Array;
  /** Scratch: visit stamps for distinct sets (epoch marking, no clearing). */
  readonly stamp: Int32Array;
  epoch: number;
}

/** Builds the CSR arrays (follows are already sorted by follower in the dataset). */
export function buildCsr(d: Dataset): Csr {
  const n = d.userCount;
  const followOffsets = new Int32Array(n + 1);
  for (let e = 0; e < d.followCount; e++) followOffsets[d.follower[e]! + 1]!++;
  for (let u = 0; u < n; u++) followOffsets[u + 1]! += followOffsets[u]!;
  const followTargets = d.followee.slice();
  const postOffsets = new Int32Array(n + 1);
  for (let p = 0; p < d.postCount; p++) postOffsets[d.postAuthor[p]! + 1]!++;
  for (let u = 0; u < n; u++) postOffsets[u + 1]! += postOffsets[u]!;
  const cursor = postOffsets.slice(0, n);
  const postIds = new Int32Array(d.postCount);
  for (let p = 0; p < d.postCount; p++) postIds[cursor[d.postAuthor[p]!]!++] = p;
  const names = Array.from({ length: n }, (_, i) => userName(i));
  const cities = Array.from({ length: n }, (_, i) => CITIES[d.userCity[i]!]!);
  return {
    followOffsets, followTargets, postOffsets, postIds, postLang: d.postLang,
    names, cities, ages: d.userAge, stamp: new Int32Array(n), epoch: 0,
  };
}

/** 1-hop rows: the users `id` follows, as [id, name, city, age]. */
export function csrOneHop(g: Csr, id: number): unknown[][] {
  const rows: unknown[][] = [];
  for (let e = g.followOffsets[id]!, end = g.followOffsets[id + 1]!; e < end; e++) {
    const t = g.followTargets[e]!;
    rows.push([t, g.names[t], g.cities[t], g.ages[t]]);
  }
  return rows;
}

/** Marks the distinct 2-hop endpoints with the current epoch; returns them. */
function twoHopSet(g: Csr, id: number): number[] {
  const epoch = ++g.epoch;
  const { followOffsets: off, followTargets: tgt, stamp } = g;
  const out: number[] = [];
  for (let e = off[id]!, end = off[id + 1]!; e < end; e++) {
    const m = tgt[e]!;
    for (let f = off[m]!, end2 = off[m + 1]!; f < end2; f++) {
      const t = tgt[f]!;
      if (stamp[t] !== epoch) {
        stamp[t] = epoch;
        out.push(t);
      }
    }
  }
  return out;
}

/** Number of distinct users exactly two hops away. */
export function csrTwoHopDistinct(g: Csr, id: number): number {
  return twoHopSet(g, id).length;
}

/** Count of 'en' posts (lang index 0) by the 2-hop endpoints. */
export function csrThreeHopEnCount(g: Csr, id: number): number {
  let count = 0;
  for (const u of twoHopSet(g, id)) {
    for (let i = g.postOffsets[u]!, end = g.postOffsets[u + 1]!; i < end; i++) if (g.postLang[g.postIds[i]!] === 0) count++;
  }
  return count;
}

/** The first 100 such posts as [id, author, lang]. */
export function csrThreeHopEnLimit(g: Csr, id: number, limit = 100): unknown[][] {
  const rows: unknown[][] = [];
  for (const u of twoHopSet(g, id)) {
    for (let i = g.postOffsets[u]!, end = g.postOffsets[u + 1]!; i < end; i++) {
      const p = g.postIds[i]!;
      if (g.postLang[p] === 0) {
        rows.push([p, u, "en"]);
        if (rows.length >= limit) return rows;
      }
    }
  }
  return rows;
}
