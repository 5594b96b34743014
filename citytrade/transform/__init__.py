"""Transform: the dbt project built against the warehouse, and its docs."""
