"""A small app with real third-party wheels: numpy (compiled, bundled libs), PyYAML, requests."""
