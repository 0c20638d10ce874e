"""What both backends share: applying children, the endpoint's members and keys Secret, probes.

`native` and `azureml` import from here and never from each other (an import-linter contract).
"""
