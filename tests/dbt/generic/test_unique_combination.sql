{#- Fails for every combination of the columns that occurs more than once (rows with a null in any of
    them are left out, as dbt's unique test leaves out nulls). Grouping by the columns themselves is
    cheaper than testing a concatenated key (no string built per row) and cannot confuse ('a#', 1)
    with ('a', '#1'). -#}
{% test unique_combination(model, columns) %}
select {{ columns | join(', ') }}, count(*) as occurrences
from {{ model }}
where {% for column in columns %}{{ column }} is not null{% if not loop.last %} and {% endif %}{% endfor %}
group by {{ columns | join(', ') }}
having count(*) > 1
{% endtest %}
