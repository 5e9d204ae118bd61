"""Stand-ins for dbt's cross-database macros (dbt.date_trunc, ...) for sqlfluff's jinja templater
(.sqlfluff library_path): each renders plain DuckDB SQL of the same shape, so the linter parses the
model. dbt never loads this file (macro-paths reads .sql files only)."""


def date_trunc(part, expr):
    return f"date_trunc('{part}', {expr})"


def dateadd(part, amount, expr):
    amount = amount if str(amount).strip() else 1  # a var() the linter does not know renders empty
    return f"({expr} + ({amount}) * interval 1 {part})"


def datediff(first, second, part):
    return f"date_diff('{part}', {first}, {second})"


def concat(fields):
    return "(" + " || ".join(fields) + ")"


def cast(expr, data_type):
    return f"cast({expr} as {data_type})"


def listagg(measure, delimiter_text="','", order_by_clause=None, limit_num=None):
    return f"string_agg({measure}, {delimiter_text} {order_by_clause or ''})"


def right(expr, length):
    return f"right({expr}, {length})"


def split_part(expr, delimiter, part):
    return f"split_part({expr}, {delimiter}, {part})"


def type_bigint():
    return "bigint"


def hash(field):  # noqa: A001 (dbt's own name: dbt.hash)
    return f"md5(cast({field} as varchar))"
