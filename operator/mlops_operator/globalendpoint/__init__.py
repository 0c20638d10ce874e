"""GlobalEndpoint: one endpoint served from several regional clusters behind one global URL."""
