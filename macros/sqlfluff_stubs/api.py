"""Stand-in for dbt's api.Column.translate_type for sqlfluff (see dbt.py)."""


class Column:
    @staticmethod
    def translate_type(data_type):
        return {"string": "varchar"}.get(data_type, data_type)
