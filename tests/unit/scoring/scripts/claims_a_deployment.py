"""run() answers with a raw response that names a deployment of its own choosing."""

from azureml.contrib.services.aml_response import AMLResponse


def init():
    pass


def run(data):
    return AMLResponse("{}", 200, {"azureml-model-deployment": "impostor"})
