"""Pure renderers: desired Kubernetes objects from the models. No I/O, no clock, no globals, no kopf."""
