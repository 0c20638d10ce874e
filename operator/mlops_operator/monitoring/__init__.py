"""What the operator watches about served models (data drift), between reconcile and the backends."""
