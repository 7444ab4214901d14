/**
 * The type-level view of a graph: the row type of each table and, per table, its relations and
 * where they lead. Traversal types are computed from this flat shape only — a traversal is
 * `Traversal<Shape, Current, Aliases, Output>`, never a growing tuple of past hops — so a large
 * schema stays cheap for `tsc`.
 */
import type { AnyTable } from "../orm/table.js";
import type { Schema, TablesShape } from "../orm/schema.js";

/**
 * `rows`: table → row type. `rels`: table → relation name → target table.
 *
 * @example
 * ```ts
 * type Social = {
 *   rows: { users: { id: number; name: string }; posts: { id: number; author: number } };
 *   rels: { users: { follows: "users"; posts: "posts" }; posts: { author: "users" } };
 * };
 * ```
 */
export interface GraphShape {
  readonly rows: { readonly [table: string]: object };
  readonly rels: { readonly [table: string]: { readonly [relation: string]: string } };
}

/** A shape that types nothing: any table, relation and column name is accepted (checked at run time). */
export interface UntypedShape extends GraphShape {
  readonly rows: { readonly [table: string]: Record<string, unknown> };
  readonly rels: { readonly [table: string]: { readonly [relation: string]: string } };
}

/** The row type of table `C` (a loose record when `C` is not a known table). */
export type RowOf<S extends GraphShape, C extends string> = [C] extends [keyof S["rows"]] ? S["rows"][C] : Record<string, unknown>;

/** Column names of table `C`. */
export type ColumnOf<S extends GraphShape, C extends string> = keyof RowOf<S, C> & string;

/** Names of the relations leaving `C`. */
export type OutRelation<S extends GraphShape, C extends string> = [C] extends [keyof S["rels"]]
  ? keyof S["rels"][C] & string
  : string;

/** Where relation `R` of `C` leads. */
export type OutTarget<S extends GraphShape, C extends string, R extends string> = [C] extends [keyof S["rels"]]
  ? R extends keyof S["rels"][C]
    ? S["rels"][C][R] & string
    : string
  : string;

/** Names of the relations (of any table) that arrive at `C` (any name when relations are untyped). */
export type InRelation<S extends GraphShape, C extends string> = string extends keyof S["rels"]
  ? string
  : {
      [T in keyof S["rels"]]: string extends keyof S["rels"][T]
        ? string
        : {
            [N in keyof S["rels"][T]]: [S["rels"][T][N]] extends [C] ? N : never;
          }[keyof S["rels"][T]];
    }[keyof S["rels"]] &
      string;

/** The table relation `R` arriving at `C` comes from (`string` when relations are untyped). */
export type InSource<S extends GraphShape, C extends string, R extends string> = string extends keyof S["rels"]
  ? string
  : {
      [T in keyof S["rels"]]: string extends keyof S["rels"][T]
        ? string
        : R extends keyof S["rels"][T]
          ? [S["rels"][T][R]] extends [C]
            ? T
            : never
          : never;
    }[keyof S["rels"]] &
      string;

/** Relations of `C` that lead back to `C` (the only ones `.both()` accepts; any name when untyped). */
export type SelfRelation<S extends GraphShape, C extends string> = [C] extends [keyof S["rels"]]
  ? string extends keyof S["rels"][C]
    ? string
    : { [N in keyof S["rels"][C]]: [S["rels"][C][N]] extends [C] ? N : never }[keyof S["rels"][C]] & string
  : string;

/** One element of a path result: which table, and its row. */
export type PathStep<S extends GraphShape> = {
  [T in keyof S["rows"] & string]: { readonly table: T; readonly row: S["rows"][T] };
}[keyof S["rows"] & string];

/**
 * The shape of an ORM schema. Row types come from the table declarations. Relation names are
 * resolved at run time by the ORM (`references(..., { name, inverse })`, `.edge(...)`), and the
 * declarations do not carry them as types yet, so every relation name is accepted by the type
 * checker and checked at run time by the catalog; a hop leads to "some table" (`string`).
 */
export type ShapeOfSchema<S extends Schema<string, TablesShape>> = {
  readonly rows: { readonly [K in keyof S["tables"] & string]: S["tables"][K] extends AnyTable ? S["tables"][K]["$row"] : never };
  readonly rels: { readonly [K in keyof S["tables"] & string]: { readonly [relation: string]: string } };
};
