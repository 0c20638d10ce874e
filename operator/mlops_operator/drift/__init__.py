"""Data drift: the reference profile of the training data, binning of served inputs, and the statistics."""
