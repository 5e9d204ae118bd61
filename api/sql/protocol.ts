import { BufferReader } from 'pg-protocol/dist/buffer-reader.js';
import { Writer } from 'pg-protocol/dist/buffer-writer.js';

/**
 * The Postgres frontend/backend protocol (version 3.0) as far as the SQL door needs it: framing of
 * what a client sends, parsing of its messages, and the backend messages the door answers with.
 * Byte-level reading and writing is pg-protocol's (node-postgres' own BufferReader and Writer); the
 * message layouts are those of https://www.postgresql.org/docs/current/protocol-message-formats.html.
 */

/** Largest message a client may send: a query text of a few MB is far above what a BI tool writes. */
export const MAX_MESSAGE_BYTES = 4 * 1024 * 1024;
export const SSL_REQUEST_CODE = 80877103;
export const GSSENC_REQUEST_CODE = 80877104;
export const CANCEL_REQUEST_CODE = 80877102;

export type FrontendMessage =
  | { type: 'startup'; protocol: number; parameters: Record<string, string> }
  | { type: 'sslRequest' }
  | { type: 'gssEncRequest' }
  | { type: 'cancelRequest' }
  | { type: 'password'; password: string }
  | { type: 'query'; sql: string }
  | { type: 'parse'; name: string; sql: string; parameterTypes: number[] }
  | { type: 'bind'; portal: string; statement: string; parameterFormats: number[]; parameters: (Buffer | null)[]; resultFormats: number[] }
  | { type: 'describe'; target: 'S' | 'P'; name: string }
  | { type: 'execute'; portal: string; maxRows: number }
  | { type: 'close'; target: 'S' | 'P'; name: string }
  | { type: 'sync' }
  | { type: 'flush' }
  | { type: 'terminate' }
  | { type: 'unsupported'; code: string };

/** A protocol violation: the connection is closed after a FATAL error naming it. */
export class ProtocolError extends Error {
  override name = 'ProtocolError';
}

/**
 * Splits a byte stream into messages. Before startup a message is length-prefixed with no type
 * byte; after it, one type byte then the length. A length below 4 or above MAX_MESSAGE_BYTES is a
 * ProtocolError (garbage bytes never make the door buffer without bound).
 */
export class MessageFramer {
  private buffer: Buffer = Buffer.alloc(0);
  started = false;

  push(chunk: Buffer): Buffer[] {
    this.buffer = this.buffer.length ? Buffer.concat([this.buffer, chunk]) : chunk;
    const messages: Buffer[] = [];
    for (;;) {
      const header = this.started ? 5 : 4;
      if (this.buffer.length < header) break;
      const length = this.buffer.readInt32BE(this.started ? 1 : 0);
      if (length < 4 || length > MAX_MESSAGE_BYTES) {
        throw new ProtocolError(`invalid message length ${length} (the door accepts 4 to ${MAX_MESSAGE_BYTES} bytes)`);
      }
      const total = length + (this.started ? 1 : 0);
      if (this.buffer.length < total) break;
      messages.push(this.buffer.subarray(0, total));
      this.buffer = this.buffer.subarray(total);
      // Only a startup message ends the untyped phase; SSL/GSS/cancel requests keep it.
      if (!this.started && length >= 8) {
        const code = messages[messages.length - 1]!.readInt32BE(4);
        if (code !== SSL_REQUEST_CODE && code !== GSSENC_REQUEST_CODE && code !== CANCEL_REQUEST_CODE) {
          this.started = true;
        }
      }
    }
    return messages;
  }
}

function cstring(reader: BufferReader): string {
  return reader.cstring();
}

/** Parses one framed message (see MessageFramer); `untyped` for the messages before startup. */
export function parseFrontendMessage(message: Buffer, untyped: boolean): FrontendMessage {
  const reader = new BufferReader();
  if (untyped) {
    if (message.length < 8) throw new ProtocolError('startup packet too short');
    const code = message.readInt32BE(4);
    if (code === SSL_REQUEST_CODE) return { type: 'sslRequest' };
    if (code === GSSENC_REQUEST_CODE) return { type: 'gssEncRequest' };
    if (code === CANCEL_REQUEST_CODE) return { type: 'cancelRequest' };
    reader.setBuffer(8, message);
    const parameters: Record<string, string> = {};
    try {
      for (let key = cstring(reader); key !== ''; key = cstring(reader)) parameters[key] = cstring(reader);
    } catch {
      throw new ProtocolError('malformed startup packet');
    }
    return { type: 'startup', protocol: code, parameters };
  }
  const type = String.fromCharCode(message[0]!);
  reader.setBuffer(5, message);
  const end = message.length;
  const need = (bytes: number, offset: number) => {
    if (offset + bytes > end) throw new ProtocolError(`malformed '${type}' message`);
  };
  const stringAt = () => {
    const text = cstring(reader);
    return text;
  };
  try {
    switch (type) {
      case 'p':
        return { type: 'password', password: stringAt() };
      case 'Q':
        return { type: 'query', sql: stringAt() };
      case 'P': {
        const name = stringAt();
        const sql = stringAt();
        const count = reader.int16();
        const parameterTypes: number[] = [];
        for (let i = 0; i < count; i++) parameterTypes.push(reader.int32());
        return { type: 'parse', name, sql, parameterTypes };
      }
      case 'B': {
        const portal = stringAt();
        const statement = stringAt();
        const formatCount = reader.int16();
        const parameterFormats: number[] = [];
        for (let i = 0; i < formatCount; i++) parameterFormats.push(reader.int16());
        const valueCount = reader.int16();
        const parameters: (Buffer | null)[] = [];
        let offset = 0;
        for (let i = 0; i < valueCount; i++) {
          const length = reader.int32();
          if (length === -1) parameters.push(null);
          else {
            if (length < 0) throw new ProtocolError('malformed Bind message');
            parameters.push(reader.bytes(length));
          }
          offset += 4 + Math.max(length, 0);
        }
        need(0, offset);
        const resultCount = reader.int16();
        const resultFormats: number[] = [];
        for (let i = 0; i < resultCount; i++) resultFormats.push(reader.int16());
        return { type: 'bind', portal, statement, parameterFormats, parameters, resultFormats };
      }
      case 'D': {
        const target = String.fromCharCode(reader.byte());
        if (target !== 'S' && target !== 'P') throw new ProtocolError(`Describe of '${target}'`);
        return { type: 'describe', target, name: stringAt() };
      }
      case 'E':
        return { type: 'execute', portal: stringAt(), maxRows: reader.int32() };
      case 'C': {
        const target = String.fromCharCode(reader.byte());
        if (target !== 'S' && target !== 'P') throw new ProtocolError(`Close of '${target}'`);
        return { type: 'close', target, name: stringAt() };
      }
      case 'S':
        return { type: 'sync' };
      case 'H':
        return { type: 'flush' };
      case 'X':
        return { type: 'terminate' };
      default:
        return { type: 'unsupported', code: type };
    }
  } catch (error) {
    if (error instanceof ProtocolError) throw error;
    // BufferReader reads past the end as a RangeError: the message was truncated or garbage.
    throw new ProtocolError(`malformed '${type}' message`);
  }
}

/** One column of a RowDescription. */
export interface ColumnDescription {
  name: string;
  typeOid: number;
  /** pg_type.typlen: -1 for variable length. */
  typeSize: number;
  typeModifier?: number;
  tableOid?: number;
  columnNumber?: number;
}

export interface ErrorFields {
  severity?: 'ERROR' | 'FATAL';
  code: string;
  message: string;
  detail?: string;
  hint?: string;
}

/** Backend messages, each returned as the bytes to write. */
export const backend = {
  authenticationCleartextPassword: () => new Writer().addInt32(3).flush(0x52),
  authenticationOk: () => new Writer().addInt32(0).flush(0x52),
  parameterStatus: (name: string, value: string) => new Writer().addCString(name).addCString(value).flush(0x53),
  backendKeyData: (pid: number, secret: number) => new Writer().addInt32(pid).addInt32(secret).flush(0x4b),
  readyForQuery: (status: 'I' | 'T' | 'E') => new Writer().addString(status).flush(0x5a),
  parseComplete: () => new Writer().flush(0x31),
  bindComplete: () => new Writer().flush(0x32),
  closeComplete: () => new Writer().flush(0x33),
  noData: () => new Writer().flush(0x6e),
  emptyQueryResponse: () => new Writer().flush(0x49),
  portalSuspended: () => new Writer().flush(0x73),
  commandComplete: (tag: string) => new Writer().addCString(tag).flush(0x43),
  parameterDescription: (oids: number[]) => {
    const writer = new Writer().addInt16(oids.length);
    for (const oid of oids) writer.addInt32(oid);
    return writer.flush(0x74);
  },
  rowDescription: (columns: ColumnDescription[]) => {
    const writer = new Writer().addInt16(columns.length);
    for (const column of columns) {
      writer
        .addCString(column.name)
        .addInt32(column.tableOid ?? 0)
        .addInt16(column.columnNumber ?? 0)
        .addInt32(column.typeOid)
        .addInt16(column.typeSize)
        .addInt32(column.typeModifier ?? -1)
        .addInt16(0); // text format
    }
    return writer.flush(0x54);
  },
  dataRow: (values: (string | null)[]) => {
    const writer = new Writer().addInt16(values.length);
    for (const value of values) {
      if (value === null) writer.addInt32(-1);
      else {
        const bytes = Buffer.from(value, 'utf8');
        writer.addInt32(bytes.length).add(bytes);
      }
    }
    return writer.flush(0x44);
  },
  error: (fields: ErrorFields) => fieldsMessage(0x45, fields),
  notice: (fields: ErrorFields) => fieldsMessage(0x4e, { ...fields, severity: undefined }, 'NOTICE'),
};

function fieldsMessage(code: number, fields: ErrorFields, severityText?: string): Buffer {
  const severity = severityText ?? fields.severity ?? 'ERROR';
  const writer = new Writer();
  writer.addString('S').addCString(severity).addString('V').addCString(severity);
  writer.addString('C').addCString(fields.code).addString('M').addCString(fields.message);
  if (fields.detail) writer.addString('D').addCString(fields.detail);
  if (fields.hint) writer.addString('H').addCString(fields.hint);
  writer.addCString('');
  return writer.flush(code);
}
