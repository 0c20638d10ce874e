"""The Azure ML compatible scoring server.

Runs any score.py written for Azure ML (`init()`, `run(raw_data)`, `run(data, request_headers)`,
inference-schema decorators, `@rawhttp` with `AMLResponse`) and answers exactly as
azureml-inference-server-http does, on an ASGI stack: one uvloop event loop per worker process, run() in a
bounded thread pool, optional adaptive batching through `run_batch()`. It imports nothing from the rest of
mlops_operator, so it ships in its own small image.
"""
