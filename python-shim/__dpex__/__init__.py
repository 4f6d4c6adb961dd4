"""dpex python-shim: boots a dehydrated app inside the environment the native launcher prepared."""
