-- Label propagation in int_identity__customer_keys runs a fixed number of rounds. If any match
-- edge still joins two different customer_keys, a component was wider than the rounds allowed:
-- raise var('identity_propagation_rounds'). Returns the offending edges.
select matches.*
from {{ ref('int_identity__matches') }} as matches
inner join {{ ref('int_identity__customer_keys') }} as a on matches.customer_id_a = a.customer_id
inner join {{ ref('int_identity__customer_keys') }} as b on matches.customer_id_b = b.customer_id
where a.customer_key <> b.customer_key
