"""Stand-in for dbt's adapter object for sqlfluff (see dbt.py): adapter.dispatch('name')(args)
renders name(args), a plain function call of the same shape."""


def dispatch(name, macro_namespace=None):
    return lambda *args: f"{name}({', '.join(str(a) for a in args)})"


def type():
    return "duckdb"


def parse_index(index):
    return index
