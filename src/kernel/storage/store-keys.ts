/**
 * The key encoding of the durable store's `rows` and `entries` sub-databases (store format 3):
 * a key `[tid, ...cells]` (rows) or `[tid, ordinal, ...cells]` (index entries) is written as its
 * leading integers in a compact order-preserving form, then each cell as a zero byte followed by
 * the cell in ordered-binary (lmdb's own key encoding, which `compareCells` agrees with), as an
 * ordered-binary array writes its elements.
 *
 * Why: ordered-binary writes every number of an array in 9 bytes plus a separator, so the table id
 * and index ordinal took 20 of the 39 bytes of a typical index key. The cost of a commit that
 * touches a big index at random places (a bulk load, an update of an indexed column) grows with
 * the number of lmdb pages it dirties and copies, i.e. with the key size: measured on 1M random
 * index puts in 10k-entry commits, 39-byte keys took 14.7 s and 18-byte keys 8.2 s.
 *
 * A leading integer n (0 ≤ n < 2^32) is one byte when n < 0xF8, else a tag byte 0xF7 + k followed
 * by n in k big-endian bytes (k minimal, 1–4): byte order is number order, and the tag tells the
 * length. Cells keep ordered-binary's order and the zero separator, so a bound ending in
 * `[0, 0xFF]` (see `rangeEnd`) still sorts after every key extending it, and `[0]` just after the
 * key itself.
 */
import { readKey as obReadKey, writeKey as obWriteKey } from "ordered-binary";

const WIDE = 0xf8;

/** Writes the leading integer `n` at `pos`; returns the position after it. */
function writeLead(n: unknown, target: Uint8Array, pos: number): number {
  if (typeof n !== "number" || !Number.isInteger(n) || n < 0 || n > 0xffffffff) {
    throw new Error(`a stored key must start with table ids and ordinals, not ${String(n)}`);
  }
  if (n < WIDE) {
    target[pos] = n;
    return pos + 1;
  }
  const k = n > 0xffffff ? 4 : n > 0xffff ? 3 : n > 0xff ? 2 : 1;
  target[pos++] = WIDE - 1 + k;
  for (let i = k - 1; i >= 0; i--) target[pos++] = Math.floor(n / 2 ** (8 * i)) & 0xff;
  return pos;
}

/** Position after the leading integer at `pos` (written by `writeLead`), and its value. */
function readLead(buf: Uint8Array, pos: number, out: unknown[]): number {
  const b = buf[pos++]!;
  if (b < WIDE) {
    out.push(b);
    return pos;
  }
  const k = b - (WIDE - 1);
  if (k > 4) throw new Error(`not a stored key (byte ${b} at ${pos - 1})`);
  let n = 0;
  for (let i = 0; i < k; i++) n = n * 256 + buf[pos++]!;
  out.push(n);
  return pos;
}

/** lmdb's custom key encoder interface (`openDB({ keyEncoder })`). */
export interface KeyEncoder {
  writeKey(key: unknown, target: Uint8Array, start: number): number;
  readKey(buf: Uint8Array, start: number, end: number): unknown[];
}

/**
 * The key encoder of a sub-database whose keys start with `lead` integers (1: `[tid, ...]`,
 * 2: `[tid, ordinal, ...]`). A `Uint8Array` key is taken as already encoded (a range bound).
 */
export function storeKeyEncoder(lead: number): KeyEncoder {
  return {
    writeKey(key, target, start) {
      if (key instanceof Uint8Array) {
        target.set(key, start);
        return start + key.length;
      }
      const cells = key as readonly unknown[];
      let pos = start;
      const n = Math.min(lead, cells.length);
      for (let i = 0; i < n; i++) pos = writeLead(cells[i], target, pos);
      for (let i = lead; i < cells.length; i++) {
        target[pos++] = 0;
        pos = obWriteKey(cells[i] as never, target, pos, true);
      }
      return pos;
    },
    readKey(buf, start, end) {
      const out: unknown[] = [];
      let pos = start;
      for (let i = 0; i < lead && pos < end; i++) pos = readLead(buf, pos, out);
      if (pos < end) {
        if (buf[pos] !== 0) throw new Error(`not a stored key (byte ${buf[pos]} after its table id)`);
        const cells = obReadKey(buf, pos + 1, end);
        if (Array.isArray(cells)) for (const c of cells) out.push(c);
        else out.push(cells);
      }
      return out;
    },
  };
}

/** The encoders of the two sub-databases, and their byte form of a key (for range bounds). */
export const ROW_KEYS = storeKeyEncoder(1);
export const ENTRY_KEYS = storeKeyEncoder(2);

const scratch = Buffer.allocUnsafe(4096);

/** The stored bytes of `key` under the encoder of keys with `lead` leading integers (a copy). */
export function encodeStoreKey(key: readonly unknown[], lead: number): Buffer {
  const end = (lead === 1 ? ROW_KEYS : ENTRY_KEYS).writeKey(key, scratch, 0);
  return Buffer.from(scratch.subarray(0, end));
}

/**
 * `cells` (a stored key's cells as read back) with the null cells restored that ordered-binary
 * drops at the end of a key: it reads `[1, 2, null, null]` back as `[1, 2, null]` (trailing
 * zero bytes are both its separator and its null). An index key of a known width (the index's
 * cell count) that reads back shorter lost only trailing nulls, so they are put back; the stored
 * bytes themselves are right (a key is always written from its cells).
 */
export function withTrailingNulls<C>(cells: C[], width: number): (C | null)[] {
  if (cells.length >= width) return cells;
  const out: (C | null)[] = cells;
  while (out.length < width) out.push(null);
  return out;
}
