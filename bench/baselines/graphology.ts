/**
 * graphology baseline: one MultiDirectedGraph holding users and posts as nodes, `follows` edges
 * (user → user) and `authored` edges (user → post); traversals by neighbour iteration.
 */
import graphology from "graphology";
import type { Dataset } from "../dataset.js";
import { CITIES, LANGS, userName } from "../dataset.js";

// graphology ships CJS+ESM; the default export is the Graph namespace with the classes on it.
const { MultiDirectedGraph } = graphology as unknown as { MultiDirectedGraph: typeof graphology.MultiDirectedGraph };

type Attrs = Record<string, unknown>;
export type SocialGraph = InstanceType<typeof graphology.MultiDirectedGraph<Attrs, Attrs>>;

const userKey = (id: number): string => `u${id}`;

/**
 * Loads the dataset into a fresh graph (users, posts, follows, authored).
 * @example
 * const g = loadGraphology(data, msg => console.error(msg));
 */
export function loadGraphology(d: Dataset, progress: (message: string) => void = () => undefined): SocialGraph {
  const g = new MultiDirectedGraph<Attrs, Attrs>({ allowSelfLoops: false });
  for (let i = 0; i < d.userCount; i++) {
    g.addNode(userKey(i), { kind: "user", id: i, name: userName(i), city: CITIES[d.userCity[i]!], age: d.userAge[i] });
  }
  progress(`graphology: ${d.userCount} users`);
  for (let p = 0; p < d.postCount; p++) {
    g.addNode(`p${p}`, { kind: "post", id: p, author: d.postAuthor[p], lang: LANGS[d.postLang[p]!] });
    g.addEdge(userKey(d.postAuthor[p]!), `p${p}`, { rel: "authored" });
  }
  progress(`graphology: ${d.postCount} posts`);
  for (let e = 0; e < d.followCount; e++) {
    g.addEdge(userKey(d.follower[e]!), userKey(d.followee[e]!), { rel: "follows" });
    if ((e & 0xfffff) === 0xfffff) progress(`graphology: ${e + 1}/${d.followCount} follows`);
  }
  return g;
}

/** 1-hop rows: [id, name, city, age] of the users `id` follows. */
export function graphOneHop(g: SocialGraph, id: number): unknown[][] {
  const rows: unknown[][] = [];
  g.forEachOutEdge(userKey(id), (_e, attr, _s, _t, _sa, ta) => {
    if (attr.rel === "follows") rows.push([ta.id, ta.name, ta.city, ta.age]);
  });
  return rows;
}

function twoHopSet(g: SocialGraph, id: number): Set<string> {
  const seen = new Set<string>();
  g.forEachOutEdge(userKey(id), (_e, attr, _s, mid) => {
    if (attr.rel !== "follows") return;
    g.forEachOutEdge(mid, (_e2, attr2, _s2, t) => {
      if (attr2.rel === "follows") seen.add(t);
    });
  });
  return seen;
}

/** Distinct users exactly two follows-hops away. */
export function graphTwoHopDistinct(g: SocialGraph, id: number): number {
  return twoHopSet(g, id).size;
}

/** Count of 'en' posts authored by the 2-hop endpoints. */
export function graphThreeHopEnCount(g: SocialGraph, id: number): number {
  let count = 0;
  for (const u of twoHopSet(g, id)) {
    g.forEachOutEdge(u, (_e, attr, _s, _t, _sa, ta) => {
      if (attr.rel === "authored" && ta.lang === "en") count++;
    });
  }
  return count;
}

/** The first 100 such posts as [id, author, lang] (stops iterating once it has them). */
export function graphThreeHopEnLimit(g: SocialGraph, id: number, limit = 100): unknown[][] {
  const rows: unknown[][] = [];
  for (const u of twoHopSet(g, id)) {
    g.someOutEdge(u, (_e, attr, _s, _t, _sa, ta) => {
      if (attr.rel === "authored" && ta.lang === "en") rows.push([ta.id, ta.author, ta.lang]);
      return rows.length >= limit;
    });
    if (rows.length >= limit) break;
  }
  return rows;
}
