"""run(*args) is refused at load, as upstream refuses it."""


def init():
    pass


def run(*args):
    return args
