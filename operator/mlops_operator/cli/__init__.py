"""`mlopsctl`: the command line for users, CI pipelines and the operator itself."""
