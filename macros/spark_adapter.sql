{#-
  The Spark target (dbt-spark with Delta Lake, docs/spark.md): overrides of dbt-spark macros where
  it falls short for this project, and the Parquet boundary the Spark build reads its sources from.
  Nothing here renders on DuckDB (every macro is spark__ or called only from spark__ branches).
-#}

{#-
  Sources on Spark. The extractors keep writing the DuckDB warehouse; the CLI exports each raw table
  (and the CLV scorer's ml tables) to Parquet with DuckDB's COPY, one folder per schema under
  var('spark_parquet_dir'): <dir>/<schema>/<table>.parquet. This hook (dbt_project.yml
  on-run-start, first) registers each source table of those schemas as an external Parquet table,
  dropped and created again every run so that it reads the files of this run (dropping an external
  table never deletes its files). var('spark_parquet_schemas') lists the schemas exported (default
  ['raw']); the ml tables are created empty by the next hooks when not exported yet.
-#}
{% macro register_parquet_sources() -%}
    {{ return(adapter.dispatch('register_parquet_sources')()) }}
{%- endmacro %}

{% macro default__register_parquet_sources() -%}
    select 1
{%- endmacro %}

{% macro spark__register_parquet_sources() -%}
    {%- set parquet_dir = var('spark_parquet_dir', none) -%}
    {%- if execute and parquet_dir -%}
        {%- set schemas = var('spark_parquet_schemas', ['raw']) -%}
        {%- set seen = [] -%}
        {%- for source in graph.sources.values() | sort(attribute='unique_id') -%}
            {%- if source.schema in schemas and (source.schema ~ '.' ~ source.identifier) not in seen -%}
                {%- do seen.append(source.schema ~ '.' ~ source.identifier) -%}
                {% do run_query('create schema if not exists ' ~ source.schema) %}
                {% do run_query('drop table if exists ' ~ source.schema ~ '.' ~ source.identifier) %}
                {% do run_query('create table ' ~ source.schema ~ '.' ~ source.identifier ~ " using parquet location '"
                    ~ parquet_dir ~ '/' ~ source.schema ~ '/' ~ source.identifier ~ ".parquet'") %}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
    select 1
{%- endmacro %}

{#- Contracts: the empty-schema query dbt compares a model's columns with casts null to each
    contract type, in Spark's names (crm_data_type: varchar is string). -#}
{% macro spark__get_empty_schema_sql(columns) %}
    {%- set translated = {} -%}
    {%- for name in columns -%}
        {%- set column = dict(columns[name]) -%}
        {%- if column.get('data_type') is not none -%}
            {%- do column.update({'data_type': crm_data_type(column['data_type'])}) -%}
        {%- endif -%}
        {%- do translated.update({name: column}) -%}
    {%- endfor -%}
    {{ return(default__get_empty_schema_sql(translated)) }}
{% endmacro %}

{#- Seeds: dbt-spark's session cursor pastes each value between quotes unescaped, so a value with an
    apostrophe ("Can't lose") breaks the insert. Here every value is a Spark string literal with
    backslash escapes, cast to the seed's column type in Spark's names. -#}
{% macro spark__create_csv_table(model, agate_table) %}
    {%- set column_override = model['config'].get('column_types', {}) -%}
    {%- set quote_seed_column = model['config'].get('quote_columns', None) -%}
    {% set sql %}
    create table {{ this.render() }} (
        {%- for col_name in agate_table.column_names -%}
            {%- set inferred_type = adapter.convert_type(agate_table, loop.index0) -%}
            {%- set type = crm_data_type(column_override.get(col_name, inferred_type)) -%}
            {{ adapter.quote_seed_column(col_name | string, quote_seed_column) }} {{ type }} {%- if not loop.last -%}, {%- endif -%}
        {%- endfor -%}
    )
    {{ file_format_clause() }}
    {{ location_clause() }}
    {% endset %}
    {% call statement('_') -%}
        {{ sql }}
    {%- endcall %}
    {{ return(sql) }}
{% endmacro %}

{% macro spark__load_csv_rows(model, agate_table) %}
    {%- set column_override = model['config'].get('column_types', {}) -%}
    {%- set types = [] -%}
    {%- for col_name in agate_table.column_names -%}
        {%- do types.append(crm_data_type(column_override.get(col_name, adapter.convert_type(agate_table, loop.index0)))) -%}
    {%- endfor -%}
    {%- set statements = [] -%}
    {%- for chunk in agate_table.rows | batch(get_batch_size()) -%}
        {% set sql %}
        insert into {{ this.render() }} values
        {% for row in chunk -%}
            ({%- for value in row -%}
                {%- if value is none -%}
                    cast(null as {{ types[loop.index0] }})
                {%- else -%}
                    cast('{{ value | string | replace("\\", "\\\\") | replace("'", "\\'") }}' as {{ types[loop.index0] }})
                {%- endif -%}
                {%- if not loop.last %}, {% endif -%}
            {%- endfor -%})
            {%- if not loop.last %},{% endif %}
        {% endfor %}
        {% endset %}
        {% do adapter.add_query(sql, abridge_sql_log=True) %}
        {% if loop.first %}{% do statements.append(sql) %}{% endif %}
    {%- endfor -%}
    {{ return(statements[0] if statements else '') }}
{% endmacro %}

{#- dbt.listagg: dbt-spark drops the order by (collect_list has no order); Spark 4 has the standard
    listagg ... within group (order by ...), so account_ids come in the same order as on DuckDB. -#}
{% macro spark__listagg(measure, delimiter_text, order_by_clause, limit_num) -%}
    {%- if limit_num -%}
        {{ exceptions.raise_compiler_error("listagg with limit_num is not used by this project on Spark") }}
    {%- endif -%}
    listagg({{ measure }}, {{ delimiter_text }}){% if order_by_clause %} within group ({{ order_by_clause }}){% endif %}
{%- endmacro %}

{#- Incremental strategies: dbt-spark's (append, merge, insert_overwrite, microbatch) plus
    delete+insert on Delta, for the model whose key has several rows (crm_incremental_strategy). -#}
{% macro dbt_spark_validate_get_incremental_strategy(raw_strategy, file_format) %}
    {%- if raw_strategy == 'delete+insert' -%}
        {%- if file_format != 'delta' -%}
            {% do exceptions.raise_compiler_error("delete+insert needs file_format 'delta' (macros/spark_adapter.sql)") %}
        {%- endif -%}
        {% do return(raw_strategy) %}
    {%- endif -%}
    {% do return(dbt.dbt_spark_validate_get_incremental_strategy(raw_strategy, file_format)) %}
{% endmacro %}

{% macro dbt_spark_get_incremental_sql(strategy, source, target, existing, unique_key, incremental_predicates) %}
    {%- if strategy == 'delete+insert' -%}
        {%- set keys = [unique_key] if unique_key is string else unique_key -%}
        {#- Delta's DELETE takes no subquery: a MERGE that only deletes removes every row of a key
            present in the batch, then the batch is inserted. -#}
        {% call statement('crm_delete_changed_keys') -%}
            merge into {{ target }} as crm_dest
            using (select distinct {{ keys | join(', ') }} from {{ source }}) as crm_changed
            on {% for key in keys %}crm_dest.{{ key }} = crm_changed.{{ key }}{% if not loop.last %} and {% endif %}{% endfor %}
            when matched then delete
        {%- endcall %}
        {{ get_insert_into_sql(source, target) }}
    {%- else -%}
        {{ dbt.dbt_spark_get_incremental_sql(strategy, source, target, existing, unique_key, incremental_predicates) }}
    {%- endif -%}
{% endmacro %}

{#- not_null contract constraints: dbt-spark sets them with ALTER COLUMN ... SET NOT NULL after the
    CTAS, which Spark 4 refuses on a table that exists ("Cannot change nullable column to
    non-nullable"). A Delta CHECK constraint enforces the same on every later write (merge, insert):
    Delta verifies the rows already there when it is added and rejects any write breaking it. -#}
{% macro spark__alter_column_set_constraints(relation, column_dict) %}
    {%- for column_name in column_dict -%}
        {%- for constraint in column_dict[column_name]['constraints'] -%}
            {%- if constraint.type == 'not_null' -%}
                {%- set quoted_name = adapter.quote(column_name) if column_dict[column_name]['quote'] else column_name -%}
                {% call statement() %}
                    alter table {{ relation }} add constraint {{ column_name }}_not_null check ({{ quoted_name }} is not null)
                {% endcall %}
            {%- else -%}
                {{ exceptions.warn('Invalid constraint for column ' ~ column_name ~ '. Only `not_null` is supported.') }}
            {%- endif -%}
        {%- endfor -%}
    {%- endfor -%}
{% endmacro %}

{#-
  The other side of the boundary (dbt_project.yml on-run-end): every mart and snapshot this
  invocation built on Spark is written as Parquet to var('spark_export_dir')/<schema>/<table>/,
  which the CLI loads into the DuckDB file the API and dashboard serve ("Spark computes, DuckDB
  serves", pipelines/transform/spark/parquet-boundary.ts). Unset outside a `crm run --target spark`.
-#}
{% macro export_built_relations(results) -%}
    {{ return(adapter.dispatch('export_built_relations')(results)) }}
{%- endmacro %}

{% macro default__export_built_relations(results) -%}
    select 1
{%- endmacro %}

{% macro spark__export_built_relations(results) -%}
    {%- set export_dir = var('spark_export_dir', none) -%}
    {%- if execute and export_dir -%}
        {%- set schemas = var('spark_export_schemas', ['marts', 'snapshots']) -%}
        {%- for result in results -%}
            {%- set node = result.node -%}
            {%- if node.resource_type in ('model', 'snapshot') and result.status == 'success' and node.schema in schemas -%}
                {% do run_query("insert overwrite directory '" ~ export_dir ~ '/' ~ node.schema ~ '/' ~ node.alias
                    ~ "' using parquet select * from " ~ node.schema ~ '.' ~ node.alias) %}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
    select 1
{%- endmacro %}

{#- dbt.datediff in hours, minutes or seconds: DuckDB counts the unit boundaries crossed (10:32:33 to
    13:15:59 is 163 minutes); dbt-spark rounds the elapsed time up (164). This gives DuckDB's meaning
    on Spark: the difference of both moments truncated to the unit. Other units: dbt-spark's. -#}
{% macro spark__datediff(first_date, second_date, datepart) -%}
    {%- set seconds = {'hour': 3600, 'minute': 60, 'second': 1}.get(datepart | lower) -%}
    {%- if seconds -%}
        ((unix_timestamp(date_trunc('{{ datepart | upper }}', {{ second_date }}))
            - unix_timestamp(date_trunc('{{ datepart | upper }}', {{ first_date }}))) div {{ seconds }})
    {%- else -%}
        {{ dbt.spark__datediff(first_date, second_date, datepart) }}
    {%- endif -%}
{%- endmacro %}
