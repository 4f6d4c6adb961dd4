//! PEP 508 environment markers.
