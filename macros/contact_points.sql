{#-
  Contact-point normalisation shared by identity resolution and the customer profile.
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

{#- SHA-256 as lowercase hex (dbt.hash is MD5, too weak for sharing hashed contact points). -#}
{% macro sha256(expr) -%}
    {{ return(adapter.dispatch('sha256')(expr)) }}
{%- endmacro %}

{% macro default__sha256(expr) -%}
    sha2(cast({{ expr }} as {{ api.Column.translate_type('string') }}), 256)
{%- endmacro %}

{% macro duckdb__sha256(expr) -%}
    sha256(cast({{ expr }} as {{ api.Column.translate_type('string') }}))
{%- endmacro %}

{% macro postgres__sha256(expr) -%}
    encode(sha256(convert_to(cast({{ expr }} as text), 'UTF8')), 'hex')
{%- endmacro %}

{#- Masking for wide audiences: phone 138****5678, e-mail a***@x.com, ids w***9 -#}
{% macro mask_phone(expr) -%}
    case when {{ expr }} is not null then
        {{ dbt.concat(["substring(" ~ expr ~ ", 1, 3)", "'****'", dbt.right(expr, '4')]) }}
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
