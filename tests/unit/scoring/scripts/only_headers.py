"""run(request_headers) alone has no input parameter: refused at load."""


def init():
    pass


def run(request_headers):
    return request_headers
