# SCIM 2.0 target (issue 4): filled in by its author.
