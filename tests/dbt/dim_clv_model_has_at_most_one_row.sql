-- dim_clv_model describes the one model in use: a second row would mean two models at once.
select count(*) as model_rows
from {{ ref('dim_clv_model') }}
having count(*) > 1
