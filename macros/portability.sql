{#-
  Where the dialects of the project's adapters differ (DuckDB, the default; Apache Spark with Delta
  Lake, docs/spark.md), dispatched so that each model is written once. The DuckDB branches render the
  SQL the models had before Spark was supported, character for character.
-#}

{#-
  The type a model's contract, a seed's column_types or DDL names, as the adapter spells it. The
  project writes its types once in the names DuckDB and PostgreSQL share (varchar, integer, double,
  decimal(p,s), timestamp, date, boolean, bigint); Spark 4 rejects a varchar without a length
  (DATATYPE_MISSING_SIZE) and calls it string. Every other name is the same on Spark.
-#}
{% macro crm_data_type(data_type) -%}
    {{ return(adapter.dispatch('crm_data_type')(data_type)) }}
{%- endmacro %}

{% macro default__crm_data_type(data_type) -%}
    {{ return(data_type) }}
{%- endmacro %}

{% macro spark__crm_data_type(data_type) -%}
    {%- set name = (data_type | string).strip().lower() -%}
    {{ return('string' if name in ('varchar', 'text', 'char', 'bpchar') else data_type) }}
{%- endmacro %}

{#-
  The incremental strategy of a model keyed by unique_key. Both rebuild the rows of a changed key
  and never duplicate one:
    * DuckDB: delete+insert (the rows of every key in the new batch are deleted, then inserted);
    * Spark (Delta): merge on the key when it identifies one row (MERGE INTO, one atomic commit),
      and the project's delete+insert on Delta (macros/spark_adapter.sql) when a key has several
      rows (rows_per_key='many'), which a merge could not remove.
-#}
{% macro crm_incremental_strategy(rows_per_key='one') -%}
    {{ return(adapter.dispatch('crm_incremental_strategy')(rows_per_key)) }}
{%- endmacro %}

{% macro default__crm_incremental_strategy(rows_per_key) -%}
    {{ return('delete+insert') }}
{%- endmacro %}

{% macro spark__crm_incremental_strategy(rows_per_key) -%}
    {{ return('delete+insert' if rows_per_key == 'many' else 'merge') }}
{%- endmacro %}

{#-
  One round of label propagation (int_identity__customer_keys): every account takes the smallest
  label among its own and its direct neighbours' in `previous` (customer_id, label) over `edges`
  (from_id, to_id, both directions). The default reads `previous` twice. Spark inlines a CTE at
  each reference, so rounds reading it twice nest 2^rounds copies of the first (90 s of planning for
  300 customers at 8 rounds); its branch reads `previous` once and fans each row out to the account
  itself and to each neighbour with a two-row constant. Same rows either way.
-#}
{% macro identity_label_round(previous, edges) -%}
    {{ return(adapter.dispatch('identity_label_round')(previous, edges)) }}
{%- endmacro %}

{% macro default__identity_label_round(previous, edges) -%}
    select customer_id, min(label) as label
    from (
        select customer_id, label from {{ previous }}
        union all
        select edges.from_id as customer_id, neighbour.label
        from {{ edges }}
        inner join {{ previous }} as neighbour on edges.to_id = neighbour.customer_id
    ) as candidates
    group by customer_id
{%- endmacro %}

{% macro spark__identity_label_round(previous, edges) -%}
    select
        case when fan.to_neighbour = 0 then labelled.customer_id else edges.from_id end as customer_id,
        min(labelled.label) as label
    from {{ previous }} as labelled
    left join {{ edges }} as edges on labelled.customer_id = edges.to_id
    cross join (select 0 as to_neighbour union all select 1 as to_neighbour) as fan
    where fan.to_neighbour = 0 or edges.from_id is not null
    group by case when fan.to_neighbour = 0 then labelled.customer_id else edges.from_id end
{%- endmacro %}

{#- The text at a JSONPath of a JSON string (null when absent): DuckDB's json_extract_string, Spark's
    get_json_object. json_path is a SQL string literal, e.g. "'$.backtest.holdoutDays'". -#}
{% macro json_text(expr, json_path) -%}
    {{ return(adapter.dispatch('json_text')(expr, json_path)) }}
{%- endmacro %}

{% macro default__json_text(expr, json_path) -%}
    json_extract_string({{ expr }}, {{ json_path }})
{%- endmacro %}

{% macro spark__json_text(expr, json_path) -%}
    get_json_object({{ expr }}, {{ json_path }})
{%- endmacro %}

{#-
  Money as a quotient rounded half away from zero to cents, exactly: an amount over a count (an
  average order value, money_per) or a share of an amount (an order's net revenue allocated to a
  line: net * line / gross, money_ratio). DuckDB divides a decimal as a double, so a quotient ending
  in a half cent could round down there and up on Spark, which keeps decimal division exact (one
  cent apart for 3 of 293 customers' average order value, and for 1 of 33,692 order lines).
  DuckDB's and Spark's branches therefore divide integers: both sides scaled by 10^6 (exact for up
  to 6 decimals, which every money product here has). The default (PostgreSQL) is numeric
  division, which is exact.
-#}
{% macro money_ratio(numerator, denominator) -%}
    {{ return(adapter.dispatch('money_ratio')(numerator, denominator)) }}
{%- endmacro %}

{% macro default__money_ratio(numerator, denominator) -%}
    round(({{ numerator }}) / ({{ denominator }}), 2)
{%- endmacro %}

{% macro duckdb__money_ratio(numerator, denominator) -%}
    {%- set n = 'abs(cast(cast(' ~ numerator ~ ' as decimal(38, 6)) * 1000000 as hugeint))' -%}
    {%- set d = 'abs(cast(cast(' ~ denominator ~ ' as decimal(38, 6)) * 1000000 as hugeint))' -%}
    cast(
        sign({{ numerator }}) * sign({{ denominator }}) * ((200 * {{ n }} + {{ d }}) // (2 * {{ d }}))
        as decimal(38, 0)
    ) * 0.01
{%- endmacro %}

{#- Spark's decimal division keeps 6 places when the operands are wide (decimal(37,6) over
    decimal(38,4)), and rounding 6 places and then 2 moved a cent on 1 of 33,692 order lines in the
    full comparison; so Spark divides the same scaled integers as DuckDB (`div`: exact, then long). -#}
{% macro spark__money_ratio(numerator, denominator) -%}
    {%- set n = 'abs(cast(cast(' ~ numerator ~ ' as decimal(38, 6)) * 1000000 as decimal(38, 0)))' -%}
    {%- set d = 'abs(cast(cast(' ~ denominator ~ ' as decimal(38, 6)) * 1000000 as decimal(38, 0)))' -%}
    cast(
        sign({{ numerator }}) * sign({{ denominator }}) * ((200 * {{ n }} + {{ d }}) div (2 * {{ d }}))
        as decimal(38, 0)
    ) * 0.01
{%- endmacro %}

{% macro money_per(amount, count) -%}
    {{ return(money_ratio('cast(' ~ amount ~ ' as decimal(38, 2))', count)) }}
{%- endmacro %}
