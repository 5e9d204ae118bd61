{#-
  Indexes on DuckDB marts (the `indexes` model config): names derived from the model and its columns,
  and drops by name instead of reading duckdb_indexes().

  The marts the API's customer 360 reads carry an ART index on the key it filters by, so a point
  lookup reads a few index entries instead of scanning the column. dbt-duckdb creates an index when
  its table is built; incremental delete+insert keeps it current. Postgres builds B-trees from the
  same config; adapters without indexes (Spark) ignore it.

  Why: dbt-duckdb names an index by an md5 with a timestamp and, before every table swap, finds the
  ones to drop with `select ... from duckdb_indexes()`. DuckDB 1.5.5 fails that scan ("Table with name
  dim_customers__dbt_backup does not exist!") when another thread has just swapped an indexed table
  and dropped its backup, so with threads > 1 any model could fail at random once some mart had an
  index. A name known in advance needs no catalog scan: `drop index if exists` on it is enough.
-#}

{% macro crm_index_name(relation, index_config) -%}
  {{ relation.identifier }}__{{ index_config.columns | join('__') }}__idx
{%- endmacro %}

{% macro duckdb__get_create_index_sql(relation, index_dict) -%}
  {%- set index_config = adapter.parse_index(index_dict) -%}
  create {% if index_config.unique %}unique {% endif %}index "{{ crm_index_name(relation, index_config) }}"
  on {{ relation }} ({{ index_config.columns | join(', ') }});
{%- endmacro %}

{#- Overrides dbt-duckdb's macro of the same name (root-project macros come first). The
    materializations call it for the relation about to be renamed away (this model's own table) and
    for temporary and backup relations, which never carry indexes (they are created after the swap). -#}
{% macro drop_indexes_on_relation(relation) -%}
  {%- if relation.identifier == this.identifier -%}
    {%- for index_dict in config.get('indexes', default=[]) -%}
      {%- set index_config = adapter.parse_index(index_dict) -%}
      {% call statement('drop_index_' ~ loop.index, auto_begin=False) %}
        drop index if exists "{{ relation.database }}"."{{ relation.schema }}"."{{ crm_index_name(relation, index_config) }}"
      {% endcall %}
    {%- endfor -%}
  {%- endif -%}
{%- endmacro %}
