/**
 * The type-level relations of a schema, as the select builder's `with()` and `innerJoinRelation()`
 * name them: per table, relation name → the table it leads to and whether it leads to many rows.
 * The names follow `schema()`'s defaults (the same rules as the graph's `ShapeOfSchema`):
 *
 * - a foreign key `col.references(target, { name, inverse })` is relation `name` (default: the
 *   column name without a trailing `_id`) of its table, leading to one `target` row, and relation
 *   `inverse` of `target` (default: the table's name, or `<table>_by_<name>` when the table has
 *   several foreign keys to that target) leading to many rows;
 * - an edge table's `.edge(name, { from, to, inverse })` is relation `name` of `from`'s target
 *   leading to many rows of `to`'s target, and relation `inverse` (default `<name>_inverse`) back.
 *
 * Computed once per schema type (one flat union of relations, grouped by source table).
 */
import type { ReferenceType } from "./columns.js";
import type { EdgeType, Table } from "./table.js";

/** Where a relation leads: the target table and whether it yields several rows. */
export interface RelationTarget<T extends string = string, Many extends boolean = boolean> {
  readonly table: T;
  readonly many: Many;
}

interface Rel {
  readonly src: string;
  readonly name: string;
  readonly tgt: string;
  readonly many: boolean;
}

type DefaultRelationName<Column extends string> = Column extends `${infer Stem}_id` ? (Stem extends "" ? Column : Stem) : Column;
type OrDefault<Given extends string, Default extends string> = [Given] extends [never] ? Default : Given;
type RefOf<C, K extends keyof C> = C[K] extends { readonly _: { readonly ref: infer R } } ? R : null;
type TargetOf<C, K extends keyof C> = RefOf<C, K> extends ReferenceType<infer T, string, string> ? T : never;
/** The foreign-key columns of columns `C` (computed once per table). */
type FkColumns<C> = { [K in keyof C]: RefOf<C, K> extends null ? never : K }[keyof C];
/** True when a foreign key of `C` other than `K` references `Target` too (the `<table>_by_<name>` rule). */
type SharesTarget<C, K extends keyof C, Target extends string> = true extends {
  [J in Exclude<FkColumns<C>, K>]: [TargetOf<C, J>] extends [Target] ? true : false;
}[Exclude<FkColumns<C>, K>]
  ? true
  : false;

type ForeignKeyRels<Tn extends string, C> = {
  [K in FkColumns<C> & string]: RefOf<C, K> extends ReferenceType<infer Target, infer Name, infer Inverse>
    ?
        | { readonly src: Tn; readonly name: OrDefault<Name, DefaultRelationName<K>>; readonly tgt: Target; readonly many: false }
        | {
            readonly src: Target;
            readonly name: OrDefault<Inverse, SharesTarget<C, K, Target> extends true ? `${Tn}_by_${OrDefault<Name, DefaultRelationName<K>>}` : Tn>;
            readonly tgt: Tn;
            readonly many: true;
          }
    : never;
}[FkColumns<C> & string];

type EdgeRels<C, E> = E extends EdgeType<infer Name, infer From, infer To, infer Inverse>
  ? From extends keyof C
    ? To extends keyof C
      ?
          | { readonly src: TargetOf<C, From>; readonly name: Name; readonly tgt: TargetOf<C, To>; readonly many: true }
          | { readonly src: TargetOf<C, To>; readonly name: OrDefault<Inverse, `${Name}_inverse`>; readonly tgt: TargetOf<C, From>; readonly many: true }
      : never
    : never
  : never;

type AllRels<T> = {
  [K in keyof T & string]: T[K] extends Table<string, infer C, infer E> ? ForeignKeyRels<K, C> | EdgeRels<C, E> : never;
}[keyof T & string];

type BySource<R extends Rel> = { [X in R as X["src"]]: X };
type RelsOf<R> = { readonly [X in R & Rel as X["name"]]: RelationTarget<X["tgt"], X["many"]> };

/** Per table of `T` (a schema's `tables`): relation name → `RelationTarget`. */
export type RelationsOfTables<T> = AllRels<T> extends infer R extends Rel
  ? BySource<R> extends infer G
    ? { readonly [K in keyof T & string]: RelsOf<K extends keyof G ? G[K] : never> }
    : never
  : never;

/** The relations of table `K` of schema `S` (name → target). */
export type RelationsOf<S extends { readonly tables: object }, K extends string> = RelationsOfTables<S["tables"]> extends infer A
  ? K extends keyof A
    ? A[K]
    : Record<string, RelationTarget>
  : never;
