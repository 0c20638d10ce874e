"""Progressive delivery: the rollout state machine, its metric gates and the traffic it puts in force."""
