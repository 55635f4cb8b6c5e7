"""Request and response formats <-> arrays: pure functions, no I/O, no web framework.

Every decoder returns a table: (n_rows, n_features) in signature order, float64 when every
feature is numeric, else object. Every problem becomes InvalidInput (422) naming the field,
or MalformedInput (400) when the body cannot be parsed at all.
"""
