/**
 * The type-level view of a graph: the row type of each table and, per table, its relations and
 * where they lead. Traversal types are computed from this flat shape only — a traversal is
 * `Traversal<Shape, Current, Aliases, Output>`, never a growing tuple of past hops — so a large
 * schema stays cheap for `tsc`.
 */
import type { ReferenceType } from "../orm/columns.js";
import type { AnyTable, EdgeType, Table } from "../orm/table.js";
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
export type GraphRowOf<S extends GraphShape, C extends string> = [C] extends [keyof S["rows"]] ? S["rows"][C] : Record<string, unknown>;

/** Column names of table `C`. */
export type ColumnOf<S extends GraphShape, C extends string> = keyof GraphRowOf<S, C> & string;

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

/**
 * The incoming index entry of `C` (read without comparing the whole index; any name when `C` is
 * unknown). The index, `ins`, is optional and precomputed (`ShapeOfSchema` has one): table →
 * relation name → the table it comes from. Without it, `InRelation`/`InSource` scan every table's
 * relations.
 */
type InsOfShape<S, C extends string> = S extends { readonly ins: infer I }
  ? [C] extends [keyof I]
    ? I[C]
    : { readonly [relation: string]: string }
  : { readonly [relation: string]: string };

/** Names of the relations (of any table) that arrive at `C` (any name when relations are untyped). */
export type InRelation<S extends GraphShape, C extends string> = "ins" extends keyof S
  ? InsOfShape<S, C> extends infer I
    ? keyof I & string
    : string
  : string extends keyof S["rels"]
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
export type InSource<S extends GraphShape, C extends string, R extends string> = "ins" extends keyof S
  ? InsOfShape<S, C> extends infer I
    ? R extends keyof I
      ? I[R] & string
      : string
    : string
  : string extends keyof S["rels"]
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
 * The shape of an ORM schema. Row types come from the table declarations; relation names and
 * targets from the declarations' literal types, with the same defaults as `schema()`:
 *
 * - a foreign key `col.references(target, { name, inverse })` is relation `name` (default: the
 *   column name without a trailing `_id`) of its table, leading to `target`, and relation
 *   `inverse` of `target` leading back (default: the table's name, or `<table>_by_<name>` when
 *   the table has several foreign keys to that target);
 * - an edge table's `.edge(name, { from, to, inverse })` is relation `name` of `from`'s target,
 *   leading to `to`'s target, and relation `inverse` (default `<name>_inverse`) back.
 *
 * Where a name or target is not a literal type, the affected tables fall back: a name given as a
 * plain `string` makes its table accept any relation name (the known ones keep their exact
 * targets); a target that is not known (a thunk annotated `(): ReferenceTarget => t`) makes its
 * relation lead to "some table", and, since its inverse could arrive anywhere, every table accept
 * any relation name. The catalog still checks every name at run time.
 *
 * @example
 * ```ts
 * type G = ShapeOfSchema<typeof social>;
 * type F = G["rels"]["users"]["follows"]; // "users"
 * ```
 */
export type ShapeOfSchema<S extends Schema<string, TablesShape>> = {
  readonly rows: { readonly [K in keyof S["tables"] & string]: S["tables"][K] extends AnyTable ? S["tables"][K]["$row"] : never };
  readonly rels: RelsOfTables<S["tables"]>;
  /** Per table, the relations arriving at it (name → source table), so `.in()` costs one table's worth. */
  readonly ins: InsOfTables<S["tables"]>;
};

/** One directed relation: `name` leaves `src` and leads to `tgt`. */
interface Rel {
  readonly src: string;
  readonly name: string;
  readonly tgt: string;
}

/** `column` without a trailing `_id` (the column itself when nothing would be left), like `schema()`. */
type DefaultRelationName<Column extends string> = Column extends `${infer Stem}_id` ? (Stem extends "" ? Column : Stem) : Column;

/** `Given` when a name was given (`never` means "not given"), else `Default`. */
type OrDefault<Given extends string, Default extends string> = [Given] extends [never] ? Default : Given;

/** The reference declared by column `K` of columns `C` (`null` for a plain column). */
type RefOf<C, K extends keyof C> = C[K] extends { readonly _: { readonly ref: infer R } } ? R : null;

/** The target table of column `K`'s reference (`never` for a plain column). */
type TargetOf<C, K extends keyof C> = RefOf<C, K> extends ReferenceType<infer T, string, string> ? T : never;

/** True when a column of `C` other than `K` references `Target` too (the `<table>_by_<name>` rule). */
type SharesTarget<C, K extends keyof C, Target extends string> = true extends {
  [J in Exclude<keyof C, K>]: [TargetOf<C, J>] extends [never] ? false : [TargetOf<C, J>] extends [Target] ? true : false;
}[Exclude<keyof C, K>]
  ? true
  : false;

/** The two relations of each foreign key of table `Tn` (columns `C`). */
type ForeignKeyRels<Tn extends string, C> = {
  [K in keyof C & string]: RefOf<C, K> extends ReferenceType<infer Target, infer Name, infer Inverse>
    ? ForeignKeyPair<Tn, Target, OrDefault<Name, DefaultRelationName<K>>, Inverse, SharesTarget<C, K, Target>>
    : never;
}[keyof C & string];

type ForeignKeyPair<Tn extends string, Target extends string, Name extends string, Inverse extends string, Shared extends boolean> =
  | { readonly src: Tn; readonly name: Name; readonly tgt: Target }
  | { readonly src: Target; readonly name: OrDefault<Inverse, Shared extends true ? `${Tn}_by_${Name}` : Tn>; readonly tgt: Tn };

/** The two relations of each `.edge()` of a table (edges `E`, columns `C`). */
type EdgeRels<C, E> = E extends EdgeType<infer Name, infer From, infer To, infer Inverse>
  ? From extends keyof C
    ? To extends keyof C
      ? EdgePair<Name, TargetOf<C, From>, TargetOf<C, To>, OrDefault<Inverse, `${Name}_inverse`>>
      : never
    : never
  : never;

type EdgePair<Name extends string, From extends string, To extends string, Inverse extends string> =
  | { readonly src: From; readonly name: Name; readonly tgt: To }
  | { readonly src: To; readonly name: Inverse; readonly tgt: From };

/** Every relation of a schema's tables, as one flat union (computed once per schema). */
type AllRels<T> = {
  [K in keyof T & string]: T[K] extends Table<string, infer C, infer E> ? ForeignKeyRels<K, C> | EdgeRels<C, E> : never;
}[keyof T & string];

/** True when some relation's source table is not known: then any table may have any relation. */
type SomeSourceUnknown<R extends Rel> = true extends (R extends Rel ? (string extends R["src"] ? true : false) : never) ? true : false;

/** The relations leaving `Tn` (`R`: the relations whose source is `Tn`), plus an open index when a name is not a literal. */
type RelsOf<R extends Rel, Open extends boolean> = {
  readonly [X in R as string extends X["name"] ? never : X["name"]]: X["tgt"];
} & (Open extends true
  ? { readonly [relation: string]: string }
  : true extends (R extends Rel ? (string extends R["name"] ? true : false) : never)
    ? { readonly [relation: string]: string }
    : unknown);

/** The relations grouped by source table in one pass (same-key members of a key-remapped type are unioned). */
type BySource<R extends Rel> = { [X in R as X["src"]]: X };
type ByTarget<R extends Rel> = { [X in R as X["tgt"]]: X };

type RelsWith<T, G, Open extends boolean> = {
  readonly [K in keyof T & string]: RelsOf<K extends keyof G ? G[K] & Rel : never, Open>;
};

/** `rels` of `ShapeOfSchema`: per table, relation name → target table. */
type RelsOfTables<T> = AllRels<T> extends infer R extends Rel ? RelsWith<T, BySource<R>, SomeSourceUnknown<R>> : never;

/** True when some relation's name, source or target is not a literal type: then `.in()` accepts any name. */
type SomeIncomingUnknown<R extends Rel> = true extends (R extends Rel ? (string extends R["src"] | R["tgt"] | R["name"] ? true : false) : never)
  ? true
  : false;

type InsOf<R extends Rel> = { readonly [X in R as X["name"]]: X["src"] };

type InsWith<T, G, Open extends boolean> = {
  readonly [K in keyof T & string]: Open extends true ? { readonly [relation: string]: string } : InsOf<K extends keyof G ? G[K] & Rel : never>;
};

/** `ins` of `ShapeOfSchema`: per table, the name of each relation arriving at it → its source table. */
type InsOfTables<T> = AllRels<T> extends infer R extends Rel ? InsWith<T, ByTarget<R>, SomeIncomingUnknown<R>> : never;
