"""A score.py decorated with inference-schema: the server parses the body and passes keyword arguments."""

import numpy as np
from inference_schema.parameter_types.numpy_parameter_type import NumpyParameterType
from inference_schema.parameter_types.standard_py_parameter_type import StandardPythonParameterType
from inference_schema.schema_decorators import input_schema, output_schema


def init():
    pass


@input_schema("data", NumpyParameterType(np.array([[1.0, 2.0, 3.0]])))
@input_schema("scale", StandardPythonParameterType(2.0))
@output_schema(StandardPythonParameterType({"sums": [6.0]}))
def run(data, scale=1.0):
    return {"sums": (np.asarray(data).sum(axis=1) * scale).tolist()}
