-- The storefront filters products by whether their B2B settings limit them to customer
-- groups. Without statistics on that expression the planner guesses 0.5 % of rows match,
-- and for a shop where nearly every product matches it then sorts the whole table instead
-- of walking the newest-first index. Expression statistics give it the real fraction.
create statistics products_visibility_stats on ((b2b_settings -> 'visible_to_customer_groups')) from products;
