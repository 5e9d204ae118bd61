{#-
  Contact-point normalisation shared by identity resolution and the customer profile, and the
  profile's keyed pseudonyms and masks.
  Regular-expression replacement is not one of dbt's cross-database macros and its flags differ by
  adapter (DuckDB and PostgreSQL replace only the first match without 'g'; Spark replaces all), so
  it is dispatched.
-#}

{% macro strip_non_digits(expr) -%}
    {{ return(adapter.dispatch('strip_non_digits')(expr)) }}
{%- endmacro %}

{% macro default__strip_non_digits(expr) -%}
    regexp_replace({{ expr }}, '[^0-9]', '')
{%- endmacro %}

{% macro duckdb__strip_non_digits(expr) -%}
    regexp_replace({{ expr }}, '[^0-9]', '', 'g')
{%- endmacro %}

{% macro postgres__strip_non_digits(expr) -%}
    regexp_replace({{ expr }}, '[^0-9]', '', 'g')
{%- endmacro %}

{#- Phone -> national digits: "+86 138 1234 5678", "+86-13812345678", "(+86)13812345678" and
    "13812345678" all give "13812345678"; "+1 415-555-0101" gives "4155550101". A leading 0086 or
    86 on a 13-digit number is a Chinese country code too. Fewer than 7 digits is no phone (null). -#}
{% macro normalize_phone(expr) -%}
    {%- set trimmed = "trim(" ~ expr ~ ")" -%}
    {%- set digits = strip_non_digits(expr) -%}
    case
        when length({{ digits }}) < 7 then null
        when {{ trimmed }} like '+86%' or {{ trimmed }} like '(+86)%' or {{ trimmed }} like '0086%'
            then {{ dbt.right(digits, 'length(' ~ digits ~ ') - ' ~ "(case when " ~ trimmed ~ " like '0086%' then 4 else 2 end)") }}
        when {{ trimmed }} like '+1%' or {{ trimmed }} like '(+1)%'
            then {{ dbt.right(digits, 'length(' ~ digits ~ ') - 1') }}
        when length({{ digits }}) = 13 and {{ digits }} like '86%'
            then {{ dbt.right(digits, '11') }}
        else {{ digits }}
    end
{%- endmacro %}

{#- E-mail: trimmed, lower case; anything without an '@' followed by a dot is no e-mail (null). -#}
{% macro normalize_email(expr) -%}
    case
        when lower(trim({{ expr }})) like '%_@_%._%' then lower(trim({{ expr }}))
    end
{%- endmacro %}

{#- WeChat / QQ ids / handles: trimmed, lower case, empty -> null. -#}
{% macro normalize_handle(expr) -%}
    nullif(lower(trim({{ expr }})), '')
{%- endmacro %}

{#- Keyed pseudonym of a normalised contact point: HMAC-SHA-256 under the deployment's key, as
    lowercase hex; null stays null. Stable for one key, so analysts can count, dedupe and join on
    it; without the key nobody can test a guess against it, unlike a plain hash of a phone number
    (10^4 candidates a row behind a 138****5678 mask) or of an e-mail. The key never enters SQL:
    on DuckDB the function crm_pseudonym is registered on dbt's connection by the dbt-duckdb plugin
    pipelines/transform/duckdb_plugins/crm_pseudonym.py, which reads $CRM_PSEUDONYM_KEY
    (docs/pseudonyms.md). Only for table and incremental models: other DuckDB connections (the API,
    Cube) do not have the function, so a view calling it could not be read outside dbt. -#}
{% macro pseudonym(expr) -%}
    {%- if execute and config.get('materialized') == 'view' -%}
        {{ exceptions.raise_compiler_error(
            "pseudonym() in " ~ model.name ~ ": a view cannot call crm_pseudonym (only dbt's connection has it); "
            ~ "materialise the model as a table or incremental") }}
    {%- endif -%}
    {{ return(adapter.dispatch('pseudonym')(expr)) }}
{%- endmacro %}

{% macro default__pseudonym(expr) -%}
    {{ exceptions.raise_compiler_error(
        "pseudonym(): no keyed pseudonym for the adapter '" ~ adapter.type() ~ "' yet. It needs an "
        ~ "HMAC-SHA-256 whose key stays out of the compiled SQL (on DuckDB a UDF registered by "
        ~ "pipelines/transform/duckdb_plugins/crm_pseudonym.py); add " ~ adapter.type()
        ~ "__pseudonym in macros/contact_points.sql (docs/pseudonyms.md)") }}
{%- endmacro %}

{% macro duckdb__pseudonym(expr) -%}
    crm_pseudonym(cast({{ expr }} as {{ api.Column.translate_type('string') }}))
{%- endmacro %}

{#- Masking for wide audiences: phone ****5678 (the last four digits only, whatever the length:
    showing the first three as well left one 10-digit +1 number three unknown digits), e-mail
    a***@x.com, ids w***9 -#}
{% macro mask_phone(expr) -%}
    case when {{ expr }} is not null then
        {{ dbt.concat(["'****'", dbt.right(expr, '4')]) }}
    end
{%- endmacro %}

{% macro mask_email(expr) -%}
    case when {{ expr }} is not null then
        {{ dbt.concat(["substring(" ~ expr ~ ", 1, 1)", "'***@'", dbt.split_part(expr, "'@'", 2)]) }}
    end
{%- endmacro %}

{% macro mask_id(expr) -%}
    case when {{ expr }} is not null then
        {{ dbt.concat(["substring(" ~ expr ~ ", 1, 1)", "'***'", dbt.right(expr, '1')]) }}
    end
{%- endmacro %}

{#- Spark: crm_pseudonym is registered on dbt-spark's session by the dbt entry point of the Spark
    target (pipelines/transform/spark_session/crm_dbt_spark.py), the same HMAC as on DuckDB. -#}
{% macro spark__pseudonym(expr) -%}
    crm_pseudonym(cast({{ expr }} as {{ api.Column.translate_type('string') }}))
{%- endmacro %}
