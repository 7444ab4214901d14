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

interface OrmRel {
  readonly src: string;
  readonly name: string;
  readonly tgt: string;
  readonly many: boolean;
}

type RelDefaultName<Column extends string> = Column extends `${infer Stem}_id` ? (Stem extends "" ? Column : Stem) : Column;
type RelOrDefault<Given extends string, Default extends string> = [Given] extends [never] ? Default : Given;
type ColumnRefOf<C, K extends keyof C> = C[K] extends { readonly _: { readonly ref: infer R } } ? R : null;
type ColumnTargetOf<C, K extends keyof C> = ColumnRefOf<C, K> extends ReferenceType<infer T, string, string> ? T : never;
/** The foreign-key columns of columns `C` (computed once per table). */
type FkColumns<C> = { [K in keyof C]: ColumnRefOf<C, K> extends null ? never : K }[keyof C];
/** True when a foreign key of `C` other than `K` references `Target` too (the `<table>_by_<name>` rule). */
type FkSharesTarget<C, K extends keyof C, Target extends string> = true extends {
  [J in Exclude<FkColumns<C>, K>]: [ColumnTargetOf<C, J>] extends [Target] ? true : false;
}[Exclude<FkColumns<C>, K>]
  ? true
  : false;

type FkRelations<Tn extends string, C> = {
  [K in FkColumns<C> & string]: ColumnRefOf<C, K> extends ReferenceType<infer Target, infer Name, infer Inverse>
    ?
        | { readonly src: Tn; readonly name: RelOrDefault<Name, RelDefaultName<K>>; readonly tgt: Target; readonly many: false }
        | {
            readonly src: Target;
            readonly name: RelOrDefault<Inverse, FkSharesTarget<C, K, Target> extends true ? `${Tn}_by_${RelOrDefault<Name, RelDefaultName<K>>}` : Tn>;
            readonly tgt: Tn;
            readonly many: true;
          }
    : never;
}[FkColumns<C> & string];

type EdgeRelations<C, E> = E extends EdgeType<infer Name, infer From, infer To, infer Inverse>
  ? From extends keyof C
    ? To extends keyof C
      ?
          | { readonly src: ColumnTargetOf<C, From>; readonly name: Name; readonly tgt: ColumnTargetOf<C, To>; readonly many: true }
          | { readonly src: ColumnTargetOf<C, To>; readonly name: RelOrDefault<Inverse, `${Name}_inverse`>; readonly tgt: ColumnTargetOf<C, From>; readonly many: true }
      : never
    : never
  : never;

type SchemaRelations<T> = {
  [K in keyof T & string]: T[K] extends Table<string, infer C, infer E> ? FkRelations<K, C> | EdgeRelations<C, E> : never;
}[keyof T & string];

type RelationsBySource<R extends OrmRel> = { [X in R as X["src"]]: X };
type RelationsFrom<R> = { readonly [X in R & OrmRel as X["name"]]: RelationTarget<X["tgt"], X["many"]> };

/** Per table of `T` (a schema's `tables`): relation name → `RelationTarget`. */
export type RelationsOfTables<T> = SchemaRelations<T> extends infer R extends OrmRel
  ? RelationsBySource<R> extends infer G
    ? { readonly [K in keyof T & string]: RelationsFrom<K extends keyof G ? G[K] : never> }
    : never
  : never;

/** The relations of table `K` of schema `S` (name → target). */
export type RelationsOf<S extends { readonly tables: object }, K extends string> = RelationsOfTables<S["tables"]> extends infer A
  ? K extends keyof A
    ? A[K]
    : Record<string, RelationTarget>
  : never;
