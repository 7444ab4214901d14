/**
 * The per-table template cache: a node's shape (everything that shapes its op, no values)
 * maps to the op compiled for the first node of that shape. A later node of the same shape gets
 * the same op object (the kernel's and the HTTP client's caches then hit by identity) and only
 * binds its own values, by slot.
 */
import type { Json } from "../ir/types.js";
import type { Compiled, CompileOptions } from "./compile-types.js";
import type { TableMeta } from "./meta.js";
import type { Operand, Predicate, QueryNode } from "./nodes.js";
import { insertPayloads, wireValue, type SlotOperand } from "./param-binder.js";

/**
 * The pieces of a node's shape — everything that shapes its op, and nothing else (no values) —
 * in a scratch list (overwritten by the next call). Lists are preceded by their lengths, so a
 * sequence of pieces names one shape. The pieces are mostly the names the caller wrote (interned
 * strings, whose hashes V8 keeps), numbers and booleans: looking them up builds and hashes no
 * string per statement.
 */
export function shapeOf(node: QueryNode, options: CompileOptions): readonly unknown[] {
  const p = PIECES;
  p.length = 0;
  p.push(options.prefix ?? "_", node.kind, options.coreFilter === true, options.coreSort === true);
  switch (node.kind) {
    case "select":
      predPieces(p, node.where);
      if (node.orderBy) p.push(1, node.orderBy.column, node.orderBy.direction);
      else p.push(0);
      amountPieces(p, node.limit);
      amountPieces(p, node.offset);
      if (node.columns) {
        p.push(node.columns.length);
        for (const c of node.columns) p.push(c);
      } else p.push(-1);
      p.push(node.count);
      break;
    case "insert":
      p.push(node.onConflict, node.rows.length === 1, options.coreInsert === true);
      break;
    case "update":
      p.push(node.set.length);
      for (const [c, o] of node.set) {
        p.push(c);
        amountPieces(p, o);
      }
      predPieces(p, node.where);
      break;
    case "delete":
      predPieces(p, node.where);
      break;
  }
  return p;
}

const PIECES: unknown[] = [];

function amountPieces(p: unknown[], a: Operand | null): void {
  if (a === null) p.push(0);
  else if (a.kind === "param") p.push(1, a.name);
  else p.push(2);
}

function predPieces(p: unknown[], ps: readonly Predicate[]): void {
  p.push(ps.length);
  for (let i = 0; i < ps.length; i++) {
    const x = ps[i]!;
    p.push(x.column, x.op);
    amountPieces(p, x.operand);
  }
}

/** A compiled shape: the op and everything but the values, plus the slots its values fill. */
export interface Template extends Omit<Compiled, "bound"> {
  readonly usedSlots: readonly number[];
  /** The parameter names of `usedSlots` (a template is made for one prefix), made on first use. */
  names?: readonly string[];
}

/** A node of a table's template trie: one step per piece of a shape, a template at its end. */
interface ShapeNode {
  readonly next: Map<unknown, ShapeNode>;
  template: Template | undefined;
}

/** One table's templates. */
export interface Templates {
  root: ShapeNode;
  size: number;
}

const TEMPLATES = new WeakMap<TableMeta, Templates>();
const MAX_TEMPLATES_PER_TABLE = 512;

/** The templates of one table (made on first use). */
export function templatesOf(meta: TableMeta): Templates {
  let perTable = TEMPLATES.get(meta);
  if (!perTable) {
    perTable = { root: { next: new Map(), template: undefined }, size: 0 };
    TEMPLATES.set(meta, perTable);
  }
  return perTable;
}

/** The template of a shape (`shapeOf`), if compiled before. */
export function findTemplate(perTable: Templates, shape: readonly unknown[]): Template | undefined {
  let n: ShapeNode | undefined = perTable.root;
  for (let i = 0; i < shape.length && n !== undefined; i++) n = n.next.get(shape[i]);
  return n?.template;
}

/**
 * A template bound to the values of `node` (a node of the template's shape): the template's op
 * object, this node's values in the slots the op uses.
 */
export function fromTemplate(hit: Template, node: QueryNode, slots: readonly SlotOperand[], prefix: string, options: CompileOptions): Compiled {
  const bound: Record<string, Json> = {};
  // Names made once per template: no key string is built (and internalized) per statement.
  const names = (hit.names ??= hit.usedSlots.map((i) => `${prefix}${i}`));
  const used = hit.usedSlots;
  if (node.kind === "insert") {
    const payloads = insertPayloads(node, options);
    for (let k = 0; k < used.length; k++) bound[names[k]!] = payloads[used[k]!]!;
  } else {
    for (let k = 0; k < used.length; k++) {
      const s = slots[used[k]!]!;
      bound[names[k]!] = wireValue((s.operand as { value: unknown }).value, s.column, s.shape);
    }
  }
  return { op: hit.op, params: hit.params, decode: hit.decode, explain: hit.explain, userParams: hit.userParams, bound };
}

/** Stores `compiled` as the template of its shape (`shapeOf`); a full table's templates are dropped at once. */
export function rememberTemplate(perTable: Templates, shape: readonly unknown[], compiled: Compiled, usedSlots: ReadonlySet<number>): void {
  if (perTable.size >= MAX_TEMPLATES_PER_TABLE) {
    perTable.root = { next: new Map(), template: undefined };
    perTable.size = 0;
  }
  let n = perTable.root;
  for (const piece of shape) {
    let child = n.next.get(piece);
    if (child === undefined) n.next.set(piece, (child = { next: new Map(), template: undefined }));
    n = child;
  }
  if (n.template === undefined) perTable.size++;
  n.template = { ...compiled, usedSlots: [...usedSlots].sort((x, y) => x - y) };
}
