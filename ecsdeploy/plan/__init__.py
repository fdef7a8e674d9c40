"""Planning: observe live state, normalise, diff, and compute the steps apply will take."""
