import { SqlError } from './sql-error.ts';

/**
 * A small lexer over SQL text: enough to split statements on semicolons outside quotes and
 * comments, and to put Bind's parameter values in place of $1..$n. Parsing proper is
 * node-sql-parser's (translate.ts); this only never mistakes a ';' or '$1' inside a string.
 */

interface Piece {
  kind: 'code' | 'string' | 'ident' | 'comment';
  text: string;
}

function pieces(sql: string): Piece[] {
  const out: Piece[] = [];
  let code = '';
  let i = 0;
  const flush = () => {
    if (code) out.push({ kind: 'code', text: code });
    code = '';
  };
  while (i < sql.length) {
    const ch = sql[i]!;
    const next = sql[i + 1];
    if (ch === '-' && next === '-') {
      const end = sql.indexOf('\n', i);
      flush();
      out.push({ kind: 'comment', text: sql.slice(i, end === -1 ? sql.length : end) });
      i = end === -1 ? sql.length : end;
    } else if (ch === '/' && next === '*') {
      const end = sql.indexOf('*/', i + 2);
      if (end === -1) throw new SqlError('42601', 'unterminated /* comment');
      flush();
      out.push({ kind: 'comment', text: sql.slice(i, end + 2) });
      i = end + 2;
    } else if (ch === "'" || ch === '"') {
      let j = i + 1;
      for (;;) {
        const k = sql.indexOf(ch, j);
        if (k === -1) throw new SqlError('42601', `unterminated quoted ${ch === "'" ? 'string' : 'identifier'}`);
        if (sql[k + 1] === ch) j = k + 2;
        else {
          j = k + 1;
          break;
        }
      }
      flush();
      out.push({ kind: ch === "'" ? 'string' : 'ident', text: sql.slice(i, j) });
      i = j;
    } else if (ch === '$' && /[A-Za-z_$]/.test(next ?? '') && /^\$[A-Za-z_]*\$/.test(sql.slice(i))) {
      throw new SqlError('0A000', 'dollar-quoted strings are not supported by the SQL door');
    } else {
      code += ch;
      i++;
    }
  }
  flush();
  return out;
}

/** The statements of a query string, comments removed, empty ones dropped. */
export function splitStatements(sql: string): string[] {
  const statements: string[] = [];
  let current = '';
  for (const piece of pieces(sql)) {
    if (piece.kind === 'comment') {
      current += ' ';
      continue;
    }
    if (piece.kind === 'string' || piece.kind === 'ident') {
      current += piece.text;
      continue;
    }
    const parts = piece.text.split(';');
    current += parts[0];
    for (const part of parts.slice(1)) {
      statements.push(current);
      current = part;
    }
  }
  statements.push(current);
  return statements.map((s) => s.trim()).filter((s) => s !== '');
}

/** The highest $n the statement uses (0: none). */
export function parameterCount(sql: string): number {
  let max = 0;
  for (const piece of pieces(sql)) {
    if (piece.kind !== 'code') continue;
    for (const match of piece.text.matchAll(/\$(\d+)/g)) max = Math.max(max, Number(match[1]));
  }
  return max;
}

/** A parameter value as a SQL literal: NULL, a number as written, anything else a quoted string. */
function sqlLiteral(value: string | null, typeOid: number): string {
  if (value === null) return 'NULL';
  const numeric = [20, 21, 23, 700, 701, 1700, 26].includes(typeOid);
  if (numeric && /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/.test(value.trim())) return value.trim();
  if (typeOid === 16) return /^(t|true|1|on|yes)$/i.test(value.trim()) ? 'TRUE' : 'FALSE';
  return `'${value.replace(/'/g, "''")}'`;
}

/** The statement with $1..$n replaced by the bound values (text format), outside strings and comments. */
export function bindParameters(sql: string, values: (string | null)[], typeOids: number[]): string {
  return pieces(sql)
    .map((piece) => {
      if (piece.kind !== 'code') return piece.text;
      return piece.text.replace(/\$(\d+)/g, (whole, digits: string) => {
        const index = Number(digits) - 1;
        if (index < 0 || index >= values.length) throw new SqlError('08P01', `there is no parameter ${whole}`);
        return sqlLiteral(values[index]!, typeOids[index] ?? 0);
      });
    })
    .join('');
}
