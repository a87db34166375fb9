"""Shop assistant library: store, support services, need extraction, web."""
