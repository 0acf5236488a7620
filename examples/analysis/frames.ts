/**
 * Result frames as Arrow IPC bytes (flechette): compact, typed, and readable by any Arrow tool,
 * which is how a job keeps its results in persistent storage while it waits for its home host.
 *
 * @module
 */
import {
  bool,
  float64,
  int32,
  type Table,
  tableFromArrays,
  tableFromIPC,
  tableToIPC,
  utf8,
} from "@uwdata/flechette";
import { PagletError } from "../../agents/errors.ts";
import type { ColumnKind, Frame, TableSchema } from "./schema.ts";

const ARROW_TYPE = { text: utf8, integer: int32, real: float64, boolean: bool } as const;

/** Encodes a frame as an Arrow IPC stream with the table's column types. */
export function encodeFrame(schema: TableSchema, frame: Frame): Uint8Array {
  const arrays: [string, unknown[]][] = [];
  const types: Record<string, ReturnType<(typeof ARROW_TYPE)[ColumnKind]>> = {};
  let length = -1;
  for (const [name, kind] of schema.columns) {
    const values = frame[name];
    if (!values) throw new PagletError("invalid_request", `${schema.name}: column '${name}' is missing`);
    if (length >= 0 && values.length !== length) {
      throw new PagletError(
        "invalid_request",
        `${schema.name}: column '${name}' has ${values.length} values, the others ${length}`,
      );
    }
    length = values.length;
    arrays.push([name, values]);
    types[name] = ARROW_TYPE[kind as ColumnKind]();
  }
  const table = tableFromArrays(arrays, { types });
  return tableToIPC(table, { format: "stream" })!;
}

/** Decodes Arrow IPC bytes into rows, in the table's column order; checks the columns are there. */
export function decodeRows(schema: TableSchema, bytes: Uint8Array): unknown[][] {
  let table: Table;
  try {
    // Bytes decoded from CBOR or read from disk may sit at any offset of a larger buffer; Arrow's
    // typed views need their natural alignment.
    table = tableFromIPC(bytes.byteOffset % 8 === 0 ? bytes : bytes.slice());
  } catch (err) {
    throw new PagletError(
      "invalid_request",
      `${schema.name}: not an Arrow IPC stream: ${(err as Error).message}`,
    );
  }
  const columns = schema.columns.map(([name]) => {
    const column = table.getChild(name);
    if (!column) {
      throw new PagletError("invalid_request", `${schema.name}: the frame has no column '${name}'`);
    }
    return column.toArray() as ArrayLike<unknown>;
  });
  const rows: unknown[][] = [];
  for (let r = 0; r < table.numRows; r++) rows.push(columns.map((c) => c[r]));
  return rows;
}
