"""A script without init(): refused at load."""


def run(raw_data):
    return raw_data
